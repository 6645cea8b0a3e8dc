//! What every process of a job shares with the scheduler: its connection (registration, the
//! heartbeats both ways, barriers, the end of the job) and [`JobState`], the one place a lost
//! peer is recorded so that every waiting operation fails with its name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::BufReader;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

use super::config::{DistConfig, Role};
use super::frame::{self, Header, Kind};
use super::msg::{Register, Welcome};
use crate::error::{KVStoreError, Result};

/// Where the job stands, as this process knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    /// The scheduler ended the job normally.
    Shutdown,
    /// A peer was lost: the message names it.
    Failed(String),
}

type Hook = Box<dyn Fn(&str) + Send + Sync>;

/// The job's status, watched by whoever waits on the network.
pub struct JobState {
    tx: watch::Sender<Status>,
    hooks: Mutex<Vec<Hook>>,
    /// This worker told the scheduler it is done: servers closing now is the job's normal end.
    pub finishing: std::sync::atomic::AtomicBool,
    pub verbose: u8,
    pub name: String,
}

impl JobState {
    pub fn new(name: String, verbose: u8) -> Arc<Self> {
        Arc::new(JobState { tx: watch::channel(Status::Running).0, hooks: Mutex::new(Vec::new()), finishing: Default::default(), verbose, name })
    }

    pub fn status(&self) -> Status {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.tx.subscribe()
    }

    /// The error every operation gets once the job failed.
    pub fn check(&self) -> Result<()> {
        match self.status() {
            Status::Failed(msg) => Err(KVStoreError::PeerLost(msg)),
            _ => Ok(()),
        }
    }

    /// Records the first loss (later ones are consequences), says so on stderr and runs the hooks.
    pub fn fail(&self, msg: String) {
        let first = self.tx.send_if_modified(|s| {
            if *s == Status::Running {
                *s = Status::Failed(msg.clone());
                true
            } else {
                false
            }
        });
        if first {
            eprintln!("rmx kvstore {}: {msg}", self.name);
            for hook in self.hooks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                hook(&msg);
            }
        }
    }

    pub fn shutdown(&self) {
        self.tx.send_if_modified(|s| {
            let running = *s == Status::Running;
            if running {
                *s = Status::Shutdown;
            }
            running
        });
    }

    /// Runs `hook` with the loss message when the job fails (at once if it already has).
    pub fn on_fail(&self, hook: Hook) {
        if let Status::Failed(msg) = self.status() {
            hook(&msg);
        }
        self.hooks.lock().unwrap_or_else(|e| e.into_inner()).push(hook);
    }

    pub fn log(&self, level: u8, what: impl FnOnce() -> String) {
        if self.verbose >= level {
            eprintln!("rmx kvstore {}: {}", self.name, what());
        }
    }
}

/// A small runtime for the network: the data path is I/O bound.
pub fn runtime(name: &str) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(format!("rmx-kv-{name}"))
        .enable_all()
        .build()
        .map_err(|source| KVStoreError::Net { what: "starting the kvstore runtime".into(), source })
}

pub fn net(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> KVStoreError {
    let what = what.into();
    move |source| KVStoreError::Net { what, source }
}

/// Connects to the scheduler, retrying while it is not up yet (processes start in any order).
pub async fn dial(cfg: &DistConfig) -> Result<TcpStream> {
    let deadline = Instant::now() + cfg.start_timeout;
    loop {
        match TcpStream::connect(&cfg.root).await {
            Ok(s) => {
                s.set_nodelay(true).map_err(net("TCP_NODELAY"))?;
                return Ok(s);
            }
            Err(e) if Instant::now() < deadline => {
                if cfg.verbose > 0 {
                    eprintln!("rmx kvstore: scheduler {} not reachable yet ({e}); retrying", cfg.root);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(net(format!("connecting to the scheduler at {} for {:?}", cfg.root, cfg.start_timeout))(e)),
        }
    }
}

/// This process's side of the scheduler connection, after registration.
pub struct SchedLink {
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    barriers: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>>,
    next: AtomicU64,
    pub welcome: Welcome,
    pub job: Arc<JobState>,
}

impl SchedLink {
    /// Registers on `stream` (from [`dial`]) and waits for the scheduler's welcome; then keeps
    /// the heartbeats going both ways and reports the job's end or failure to `job`.
    pub async fn register(cfg: &DistConfig, stream: TcpStream, addr: Option<SocketAddr>, job: Arc<JobState>) -> Result<Self> {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let reg = Register {
            token: cfg.token.clone(),
            role: cfg.role.name().into(),
            addr: addr.map(|a| a.to_string()),
            host: hostname(),
            pid: std::process::id(),
            rank_hint: if cfg.role == Role::Worker { cfg.rank_hint } else { None },
        };
        frame::write_msg(&mut write, Header::new(Kind::Register, 0, 0, 0), &[&frame::json(&reg)]).await.map_err(net("registering with the scheduler"))?;
        let welcome = tokio::time::timeout(cfg.start_timeout, async {
            let h = frame::read_header(&mut read).await?;
            let body = frame::read_control(&mut read, &h).await?;
            Ok::<_, std::io::Error>((h, body))
        })
        .await
        .map_err(|_| KVStoreError::PeerLost(format!("the scheduler at {} did not start the job within {:?} (are all {} servers and {} workers running?)", cfg.root, cfg.start_timeout, cfg.num_servers, cfg.num_workers)))?
        .map_err(|e| KVStoreError::PeerLost(format!("the scheduler at {} refused or dropped this {} ({e}); check RMX_KVSTORE_TOKEN", cfg.root, cfg.role.name())))?;
        let welcome: Welcome = match welcome.0.kind {
            Kind::Welcome => frame::parse(Kind::Welcome, &welcome.1)?,
            Kind::PeerLost => return Err(KVStoreError::PeerLost(String::from_utf8_lossy(&welcome.1).into_owned())),
            other => return Err(KVStoreError::Protocol(format!("expected Welcome from the scheduler, got {other:?}"))),
        };
        let link = SchedLink { writer: Arc::new(tokio::sync::Mutex::new(write)), barriers: Arc::default(), next: AtomicU64::new(1), welcome, job };
        link.spawn_reader(read, cfg.timeout);
        link.spawn_heartbeats(cfg.heartbeat());
        Ok(link)
    }

    fn spawn_reader(&self, mut read: BufReader<tokio::net::tcp::OwnedReadHalf>, timeout: Duration) {
        let (job, barriers) = (self.job.clone(), self.barriers.clone());
        tokio::spawn(async move {
            let reason = loop {
                let h = match tokio::time::timeout(timeout, frame::read_header(&mut read)).await {
                    Err(_) => break format!("the scheduler sent nothing for {timeout:?} (no heartbeat)"),
                    Ok(Err(e)) => break format!("the scheduler was lost: {e}"),
                    Ok(Ok(h)) => h,
                };
                let body = match frame::read_control(&mut read, &h).await {
                    Ok(b) => b,
                    Err(e) => break format!("the scheduler was lost: {e}"),
                };
                match h.kind {
                    Kind::Heartbeat => {}
                    Kind::BarrierDone => {
                        if let Some(tx) = barriers.lock().unwrap_or_else(|e| e.into_inner()).remove(&h.req) {
                            let _ = tx.send(());
                        }
                    }
                    Kind::Shutdown => {
                        job.shutdown();
                        return;
                    }
                    Kind::PeerLost => break String::from_utf8_lossy(&body).into_owned(),
                    other => break format!("unexpected {other:?} from the scheduler"),
                }
            };
            if job.status() == Status::Running {
                job.fail(reason);
            }
            barriers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
    }

    fn spawn_heartbeats(&self, every: Duration) {
        let (writer, job) = (self.writer.clone(), self.job.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if job.status() != Status::Running {
                    return;
                }
                let mut w = writer.lock().await;
                if frame::write_msg(&mut *w, Header::new(Kind::Heartbeat, 0, 0, 0), &[]).await.is_err() {
                    return; // the reader reports the loss
                }
            }
        });
    }

    async fn send(&self, kind: Kind, req: u64) -> Result<()> {
        let mut w = self.writer.lock().await;
        frame::write_msg(&mut *w, Header::new(kind, 0, req, 0), &[]).await.map_err(|e| KVStoreError::PeerLost(format!("the scheduler was lost: {e}")))
    }

    /// Returns once every worker called `barrier` (or fails when the job does).
    pub async fn barrier(&self) -> Result<()> {
        self.job.check()?;
        let req = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.barriers.lock().unwrap_or_else(|e| e.into_inner()).insert(req, tx);
        self.send(Kind::Barrier, req).await?;
        let mut status = self.job.subscribe();
        tokio::select! {
            r = rx => match r {
                Ok(()) => Ok(()),
                Err(_) => {
                    self.job.check()?;
                    Err(KVStoreError::PeerLost("the scheduler was lost during a barrier".into()))
                }
            },
            _ = status.wait_for(|s| matches!(s, Status::Failed(_))) => self.job.check(),
        }
    }

    /// Tells the scheduler this worker is done and waits (at most `wait`) for the job's end.
    pub async fn finish(&self, wait: Duration) -> Result<()> {
        self.job.check()?;
        self.job.finishing.store(true, Ordering::SeqCst);
        self.send(Kind::Finish, 0).await?;
        let mut status = self.job.subscribe();
        let ended = tokio::time::timeout(wait, async { status.wait_for(|s| *s != Status::Running).await.is_ok() }).await;
        match ended {
            Ok(_) => self.job.check(),
            Err(_) => Err(KVStoreError::PeerLost(format!("the job did not end within {wait:?} after this worker finished"))),
        }
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "localhost".into())
}

/// Socket buffers for array traffic: a few megabytes keep a fast link busy between reads.
pub const SOCKET_BUFFER: u32 = 4 << 20;

/// A listener whose accepted sockets get [`SOCKET_BUFFER`]-sized buffers.
pub fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.map_err(net("socket"))?;
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    socket.bind(addr).map_err(net(format!("listening on {addr}")))?;
    socket.listen(1024).map_err(net(format!("listening on {addr}")))
}

/// A connection with [`SOCKET_BUFFER`]-sized buffers and no Nagle delay.
pub async fn connect(addr: &str) -> Result<TcpStream> {
    let target = tokio::net::lookup_host(addr).await.map_err(net(format!("resolving {addr}")))?.next();
    let target = target.ok_or_else(|| KVStoreError::Config(format!("{addr} resolves to no address")))?;
    let socket = if target.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }.map_err(net("socket"))?;
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let stream = socket.connect(target).await.map_err(net(format!("connecting to {addr}")))?;
    stream.set_nodelay(true).map_err(net("TCP_NODELAY"))?;
    Ok(stream)
}
