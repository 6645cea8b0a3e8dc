//! A worker's connections: to the scheduler ([`SchedLink`]) and to every server. Requests carry
//! ids; one reader task per server matches replies to them and reads a pulled value straight into
//! the memory its request names. A lost server, or a loss the scheduler reports, fails every
//! request in flight with the peer's name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;

use super::config::DistConfig;
use super::frame::{self, Header, Kind};
use super::job::{connect, dial, net, runtime, JobState, SchedLink};
use super::msg::{Command, Hello};
use crate::error::{KVStoreError, Result};

/// Host memory a reply is read into; valid until the request's completion (the engine holds the
/// array's variable for the operation that made the request).
#[derive(Clone, Copy)]
pub struct RecvPtr {
    pub ptr: *mut u8,
    pub len: usize,
}

// SAFETY: the pointer is only written by the reader task while the operation that owns the
// memory waits for the completion; see `RecvPtr`.
unsafe impl Send for RecvPtr {}

enum Pending {
    Pull(RecvPtr, oneshot::Sender<Result<()>>),
    Ack(oneshot::Sender<Result<()>>),
    /// A reply body of at most the given length (optimizer states).
    Body(u64, oneshot::Sender<Result<Vec<u8>>>),
}

/// One server's connection.
pub struct ServerConn {
    pub name: String,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<HashMap<u64, Pending>>,
    next: AtomicU64,
    job: Arc<JobState>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerConn {
    fn fail_all(&self, msg: &str) {
        for (_, p) in lock(&self.pending).drain() {
            let e = Err(KVStoreError::PeerLost(msg.to_string()));
            match p {
                Pending::Pull(_, tx) | Pending::Ack(tx) => drop(tx.send(e)),
                Pending::Body(_, tx) => drop(tx.send(Err(KVStoreError::PeerLost(msg.to_string())))),
            }
        }
    }

    fn register(&self, p: Pending) -> u64 {
        let req = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.pending).insert(req, p);
        req
    }

    async fn send(&self, h: Header, parts: &[&[u8]]) -> Result<()> {
        self.job.check()?;
        let mut w = self.writer.lock().await;
        frame::write_msg(&mut *w, h, parts).await.map_err(|e| KVStoreError::PeerLost(format!("{} was lost: {e}", self.name)))
    }

    async fn wait<T>(&self, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        match rx.await {
            Ok(r) => r,
            Err(_) => {
                self.job.check()?;
                Err(KVStoreError::PeerLost(format!("{} was lost", self.name)))
            }
        }
    }

    /// Sends a gradient (elements, or codes with `flags`).
    pub async fn push(&self, key: i64, flags: u8, data: &[u8]) -> Result<()> {
        let mut h = Header::new(Kind::Push, key, 0, 0);
        h.flags = flags;
        self.send(h, &[data]).await
    }

    /// Asks for a key's value and reads the reply into `into` (exactly its length).
    pub async fn pull(&self, key: i64, into: RecvPtr) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let req = self.register(Pending::Pull(into, tx));
        self.send(Header::new(Kind::Pull, key, req, 0), &[]).await?;
        self.wait(rx).await
    }

    /// A key's first value: `[dtype, 7 zeros, numel]` and the elements; waits for the server.
    pub async fn init(&self, key: i64, dtype_flag: u8, numel: usize, data: &[u8]) -> Result<()> {
        let mut head = [0u8; 16];
        head[0] = dtype_flag;
        head[8..].copy_from_slice(&(numel as u64).to_le_bytes());
        let (tx, rx) = oneshot::channel();
        let req = self.register(Pending::Ack(tx));
        self.send(Header::new(Kind::Init, key, req, 0), &[&head, data]).await?;
        self.wait(rx).await
    }

    pub async fn command(&self, cmd: &Command) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let req = self.register(Pending::Ack(tx));
        self.send(Header::new(Kind::Command, 0, req, 0), &[&frame::json(cmd)]).await?;
        self.wait(rx).await
    }

    /// The server's optimizer states (a body of at most `limit` bytes).
    pub async fn states(&self, limit: u64) -> Result<Vec<u8>> {
        let (tx, rx) = oneshot::channel();
        let req = self.register(Pending::Body(limit, tx));
        self.send(Header::new(Kind::States, 0, req, 0), &[]).await?;
        self.wait(rx).await
    }

    /// Replaces the server's optimizer states with `body` (what `states` returned, or its like).
    pub async fn set_states(&self, body: &[u8]) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let req = self.register(Pending::Ack(tx));
        self.send(Header::new(Kind::SetStates, 0, req, 0), &[body]).await?;
        self.wait(rx).await
    }

    /// Reads replies until the connection ends; its end while the job runs loses the job.
    async fn read_replies(self: Arc<Self>, mut read: BufReader<OwnedReadHalf>) {
        let why = loop {
            match self.read_one(&mut read).await {
                Ok(()) => {}
                Err(e) => break e,
            }
        };
        // A server usually goes because something else did (the scheduler, a worker): give the
        // scheduler's word a moment to arrive so that the error names the cause.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let msg = match self.job.status() {
            super::job::Status::Failed(cause) => cause,
            _ => format!("{} was lost: {why}", self.name),
        };
        self.fail_all(&msg);
        if self.job.status() == super::job::Status::Running && !self.job.finishing.load(Ordering::SeqCst) {
            self.job.fail(msg);
        }
    }

    async fn read_one(&self, read: &mut BufReader<OwnedReadHalf>) -> std::result::Result<(), String> {
        let h = frame::read_header(read).await.map_err(|e| e.to_string())?;
        let pending = lock(&self.pending).remove(&h.req);
        match (h.kind, pending) {
            (Kind::PullReply, Some(Pending::Pull(into, tx))) => {
                if h.len != into.len as u64 {
                    let _ = tx.send(Err(KVStoreError::Protocol(format!("{} answered key {} with {} bytes; {} expected", self.name, h.key, h.len, into.len))));
                    return Err("a reply of the wrong size".into());
                }
                // SAFETY: see `RecvPtr`: the memory stays valid and untouched by others until
                // `tx` reports, which happens after this read.
                let dst = unsafe { std::slice::from_raw_parts_mut(into.ptr, into.len) };
                let r = read.read_exact(dst).await.map(|_| ()).map_err(|e| e.to_string());
                let _ = tx.send(r.clone().map_err(KVStoreError::PeerLost));
                r
            }
            (Kind::Ack, Some(Pending::Ack(tx))) => {
                let _ = tx.send(Ok(()));
                Ok(())
            }
            (Kind::StatesReply, Some(Pending::Body(limit, tx))) => {
                match frame::read_body(read, &h, limit).await {
                    Ok(body) => {
                        let _ = tx.send(Ok(body));
                        Ok(())
                    }
                    Err(e) => {
                        let _ = tx.send(Err(KVStoreError::Protocol(format!("{}: {e}", self.name))));
                        Err(e.to_string())
                    }
                }
            }
            (Kind::Error, Some(pending)) => {
                let body = frame::read_control(read, &h).await.map_err(|e| e.to_string())?;
                let e = KVStoreError::Protocol(format!("{}: {}", self.name, String::from_utf8_lossy(&body)));
                match pending {
                    Pending::Ack(tx) | Pending::Pull(_, tx) => drop(tx.send(Err(e))),
                    Pending::Body(_, tx) => drop(tx.send(Err(e))),
                }
                Ok(())
            }
            (kind, _) => Err(format!("an unexpected {kind:?} (request {})", h.req)),
        }
    }
}

/// A worker's view of the job: rank, sizes, connections, and the runtime they run on.
pub struct Client {
    pub rt: tokio::runtime::Runtime,
    pub link: SchedLink,
    pub servers: Vec<Arc<ServerConn>>,
    pub job: Arc<JobState>,
    pub cfg: DistConfig,
}

impl Client {
    /// Registers with the scheduler and connects to every server (blocking).
    pub fn connect(cfg: &DistConfig, sync: bool) -> Result<Self> {
        let rt = runtime("worker")?;
        let (link, servers, job) = rt.block_on(async {
            let stream = dial(cfg).await?;
            let job = JobState::new("worker".into(), cfg.verbose);
            let link = SchedLink::register(cfg, stream, None, job.clone()).await?;
            let mut servers = Vec::new();
            for (i, addr) in link.welcome.servers.iter().enumerate() {
                let stream = connect(addr).await?;
                let (read, mut write) = stream.into_split();
                let hello = Hello { token: cfg.token.clone(), rank: link.welcome.rank, sync };
                frame::write_msg(&mut write, Header::new(Kind::Hello, 0, 0, 0), &[&frame::json(&hello)]).await.map_err(net(format!("greeting server {i}")))?;
                let conn = Arc::new(ServerConn {
                    name: format!("server {i} ({addr})"),
                    writer: tokio::sync::Mutex::new(write),
                    pending: Mutex::new(HashMap::new()),
                    next: AtomicU64::new(1),
                    job: job.clone(),
                });
                tokio::spawn(conn.clone().read_replies(BufReader::with_capacity(1 << 16, read)));
                servers.push(conn);
            }
            Ok::<_, KVStoreError>((link, servers, job))
        })?;
        let conns = servers.clone();
        job.on_fail(Box::new(move |msg| conns.iter().for_each(|c| c.fail_all(msg))));
        // The loss surfaces at the worker's next kvstore call or wait; a worker still running
        // `timeout` later (busy elsewhere, or catching the error) is ended, so no job outlives it.
        let grace = cfg.timeout;
        job.on_fail(Box::new(move |msg| {
            let msg = msg.to_string();
            std::thread::spawn(move || {
                std::thread::sleep(grace);
                eprintln!("rmx kvstore worker: exiting {grace:?} after the job failed ({msg})");
                std::process::exit(1);
            });
        }));
        job.log(1, || format!("worker {} of {} connected to {} servers", link.welcome.rank, link.welcome.num_workers, servers.len()));
        Ok(Client { rt, link, servers, job, cfg: cfg.clone() })
    }

    pub fn rank(&self) -> usize {
        self.link.welcome.rank
    }

    pub fn num_workers(&self) -> usize {
        self.link.welcome.num_workers
    }

    pub fn barrier(&self) -> Result<()> {
        self.rt.block_on(self.link.barrier())
    }

    /// Sends a command to every server and waits for each to accept it.
    pub fn command(&self, head: &str, body: &str) -> Result<()> {
        let cmd = Command { head: head.into(), body: body.into() };
        self.rt.block_on(async {
            for s in &self.servers {
                s.command(&cmd).await?;
            }
            Ok(())
        })
    }

    /// Tells the scheduler this worker is done and waits for the job to end.
    pub fn finish(&self) -> Result<()> {
        self.rt.block_on(self.link.finish(self.cfg.timeout.max(Duration::from_secs(5))))
    }
}
