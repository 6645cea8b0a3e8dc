//! A server: holds its part of every key, merges the workers' pushes and answers their pulls.
//!
//! `dist_sync`: a key's round completes when every worker pushed once; the pushes are summed in
//! rank order (a worker that pushes twice before the others is queued, not double-counted), the
//! updater (the optimizer a worker sent) or assignment makes the new value, and each waiting pull
//! is answered. A worker's pull waits for every round it pushed into. `dist_async`: each push is
//! applied alone, at once. Arrays travel without copies through Python: pushes are read from the
//! socket into reused buffers, pulls written from the stored array's memory under a read lock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmx_engine::{engine, BoxError, Context, FnProperty};
use rmx_graph::NDArray;
use rmx_kernels::DType;
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, RwLock};

use super::codec::{codes_len, dtype_refused, sum_into, Buf};
use super::config::DistConfig;
use super::frame::{self, Header, Kind, FLAG_2BIT};
use super::job::{dial, listen, net, runtime, JobState, SchedLink, Status};
use super::msg::{token_matches, Command, Hello};
use crate::error::{KVStoreError, Result};
use crate::key::Key;
use crate::updater::Updater;

/// What a server asks of its host process (Python in rmx): the updater a worker's
/// `set_optimizer` describes, rebuilt from the typed description (JSON), never unpickled.
pub trait ServerHooks: Send + Sync {
    fn optimizer(&self, description: &str) -> std::result::Result<Box<dyn Updater>, BoxError>;
}

/// Runs a server of the job `cfg` describes until the job ends; fails when a peer is lost.
pub fn run_server(cfg: &DistConfig, hooks: Box<dyn ServerHooks>) -> Result<()> {
    let cfg = cfg.clone();
    runtime("server")?.block_on(async move {
        let stream = dial(&cfg).await?;
        let host = match &cfg.node_host {
            Some(h) => h.clone(),
            None => stream.local_addr().map_err(net("local address"))?.ip().to_string(),
        };
        let ip: std::net::IpAddr = host.parse().map_err(|_| KVStoreError::Config(format!("DMLC_NODE_HOST={host} is not an IP address")))?;
        let listener = listen(std::net::SocketAddr::new(ip, 0))?;
        let addr = listener.local_addr().map_err(net("local address"))?;
        let job = JobState::new(format!("server at {addr}"), cfg.verbose);
        let link = SchedLink::register(&cfg, stream, Some(addr), job.clone()).await?;
        job.log(1, || format!("server {} of {} listening on {addr}", link.welcome.rank, link.welcome.num_servers));
        let server = Arc::new(Server {
            num_workers: link.welcome.num_workers,
            token: cfg.token.clone(),
            keys: Mutex::new(HashMap::new()),
            updater: Mutex::new(None),
            optimizer: Mutex::new(None),
            threshold: Mutex::new(None),
            mode: AtomicU8::new(0),
            hooks,
            job: job.clone(),
        });
        tokio::spawn(accept(listener, server.clone()));
        let mut status = job.subscribe();
        let _ = status.wait_for(|s| *s != Status::Running).await;
        drop(link);
        job.check()
    })
}

struct Server {
    num_workers: usize,
    token: String,
    keys: Mutex<HashMap<i64, Arc<KeyState>>>,
    updater: Mutex<Option<Box<dyn Updater>>>,
    /// The description the updater was built from (a repeat from another worker is a no-op).
    optimizer: Mutex<Option<String>>,
    threshold: Mutex<Option<f32>>,
    /// 0 until the first worker says; then 1 sync, 2 async.
    mode: AtomicU8,
    hooks: Box<dyn ServerHooks>,
    job: Arc<JobState>,
}

/// One worker's connection.
struct Conn {
    worker: usize,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
}

struct Waiter {
    conn: Arc<Conn>,
    req: u64,
    need: u64,
}

#[derive(Default)]
struct Round {
    /// Per worker, pushes received and not yet merged.
    pending: Vec<VecDeque<(Buf, u8)>>,
    pushed: Vec<u64>,
    applied: Vec<u64>,
    waiting: Vec<Waiter>,
}

struct KeyState {
    key: i64,
    dtype: DType,
    numel: usize,
    stored: NDArray,
    merged: NDArray,
    /// Pull replies hold it shared while they write the stored bytes; an update holds it alone.
    serving: RwLock<()>,
    round: Mutex<Round>,
    free: Arc<Mutex<Vec<Buf>>>,
    apply: mpsc::UnboundedSender<Vec<(usize, Buf, u8)>>,
}

impl KeyState {
    fn nbytes(&self) -> usize {
        self.numel * self.dtype.size()
    }

    fn stored_bytes(&self) -> &[u8] {
        // SAFETY: a dense host array of `nbytes`, kept alive by `self`; callers hold `serving`
        // (shared), and updates, which alone write it, hold it exclusively and wait for the
        // engine before releasing it.
        unsafe { std::slice::from_raw_parts(self.stored.data_ptr(), self.nbytes()) }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept(listener: TcpListener, server: Arc<Server>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let server = server.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let why = match serve_worker(stream, &server).await {
                Ok(()) => return,
                Err(e) => e,
            };
            if server.job.status() == Status::Running {
                eprintln!("rmx kvstore {}: dropped the connection from {peer}: {why}", server.job.name);
            }
        });
    }
}

/// The handshake (the token within 10 s), then every message of one worker until it closes.
async fn serve_worker(stream: TcpStream, server: &Arc<Server>) -> Result<()> {
    let (read, write) = stream.into_split();
    let mut read = BufReader::with_capacity(1 << 16, read);
    let hello = tokio::time::timeout(Duration::from_secs(10), async {
        let h = frame::read_header(&mut read).await.map_err(net("reading the handshake"))?;
        if h.kind != Kind::Hello {
            return Err(KVStoreError::Protocol(format!("expected Hello, got {:?}", h.kind)));
        }
        let body = frame::read_control(&mut read, &h).await.map_err(net("reading the handshake"))?;
        frame::parse::<Hello>(Kind::Hello, &body)
    })
    .await
    .map_err(|_| KVStoreError::Protocol("no handshake within 10 s".into()))??;
    if !token_matches(&hello.token, &server.token) {
        return Err(KVStoreError::Protocol("wrong job token (RMX_KVSTORE_TOKEN)".into()));
    }
    if hello.rank >= server.num_workers {
        return Err(KVStoreError::Protocol(format!("worker rank {} in a job of {} workers", hello.rank, server.num_workers)));
    }
    server.mode.store(if hello.sync { 1 } else { 2 }, Ordering::Relaxed);
    let conn = Arc::new(Conn { worker: hello.rank, writer: tokio::sync::Mutex::new(write) });
    loop {
        let h = match frame::read_header(&mut read).await {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(net("reading")(e)),
        };
        server.job.log(2, || format!("{:?} key {} from worker {} ({} bytes)", h.kind, h.key, conn.worker, h.len));
        match h.kind {
            Kind::Init => on_init(server, &conn, &mut read, h).await?,
            Kind::Push => on_push(server, &conn, &mut read, h).await?,
            Kind::Pull => {
                h.check_len(0)?;
                on_pull(server, &conn, h)?;
            }
            Kind::Command => {
                let body = frame::read_control(&mut read, &h).await.map_err(net("reading a command"))?;
                let cmd: Command = frame::parse(Kind::Command, &body)?;
                let s = server.clone();
                let result = blocking(move || s.command(&cmd).map(|()| Vec::new())).await?;
                answer(&conn, h.req, Kind::Ack, result).await?;
            }
            Kind::States => {
                h.check_len(0)?;
                let s = server.clone();
                let result = blocking(move || s.states()).await?;
                answer(&conn, h.req, Kind::StatesReply, result).await?;
            }
            Kind::SetStates => {
                let body = frame::read_body(&mut read, &h, server.states_limit()).await.map_err(net("reading optimizer states"))?;
                let s = server.clone();
                let result = blocking(move || s.set_states(&body).map(|()| Vec::new())).await?;
                answer(&conn, h.req, Kind::Ack, result).await?;
            }
            other => return Err(KVStoreError::Protocol(format!("unexpected {other:?} from a worker"))),
        }
    }
}

/// Runs `f` (which may call into the host's optimizer) off the runtime's thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<Result<T>> {
    tokio::task::spawn_blocking(f).await.map_err(|e| KVStoreError::Protocol(format!("a command panicked: {e}")))
}

/// Answers request `req`: `kind` with `body`, or `Error` with the error's text.
async fn answer(conn: &Arc<Conn>, req: u64, kind: Kind, result: Result<Vec<u8>>) -> Result<()> {
    let (kind, body) = match result {
        Ok(body) => (kind, body),
        Err(e) => (Kind::Error, e.to_string().into_bytes()),
    };
    let mut w = conn.writer.lock().await;
    frame::write_msg(&mut *w, Header::new(kind, 0, req, 0), &[&body]).await.map_err(net("answering"))
}

async fn on_init(server: &Arc<Server>, conn: &Arc<Conn>, read: &mut BufReader<OwnedReadHalf>, h: Header) -> Result<()> {
    if h.len < 16 {
        return Err(KVStoreError::Protocol(format!("Init of {} bytes", h.len)));
    }
    let mut head = [0u8; 16];
    read.read_exact(&mut head).await.map_err(net("reading Init"))?;
    let dtype = DType::from_flag(head[0] as i32).ok_or_else(|| KVStoreError::Protocol(format!("Init with dtype flag {}", head[0])))?;
    let numel = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
    let nbytes = numel.checked_mul(dtype.size() as u64).filter(|n| *n + 16 == h.len);
    let Some(nbytes) = nbytes else {
        return Err(KVStoreError::Protocol(format!("Init of key {}: {numel} x {dtype} does not match its {} bytes", h.key, h.len)));
    };
    if !matches!(dtype, DType::F32 | DType::F64) {
        let mut sink = vec![0u8; nbytes as usize];
        read.read_exact(&mut sink).await.map_err(net("reading Init"))?;
        return reply_error(conn, h.req, dtype_refused(dtype).to_string()).await;
    }
    let existing = lock(&server.keys).get(&h.key).cloned();
    let ks = match existing {
        Some(ks) if ks.dtype == dtype && ks.numel as u64 == numel => ks,
        Some(ks) => return Err(KVStoreError::Protocol(format!("Init of key {} as {numel} x {dtype}; it holds {} x {}", h.key, ks.numel, ks.dtype))),
        None => new_key(server, h.key, dtype, numel as usize)?,
    };
    {
        let _alone = ks.serving.write().await;
        ks.stored.wait_to_read()?;
        // SAFETY: the stored array's dense bytes; `serving` is held exclusively and the engine
        // has no pending write, so nothing else reads or writes them meanwhile.
        let dst = unsafe { std::slice::from_raw_parts_mut(ks.stored.data_ptr(), ks.nbytes()) };
        read.read_exact(dst).await.map_err(net("reading Init"))?;
    }
    lock(&server.keys).insert(h.key, ks);
    let mut w = conn.writer.lock().await;
    frame::write_msg(&mut *w, Header::new(Kind::Ack, h.key, h.req, 0), &[]).await.map_err(net("answering"))
}

fn new_key(server: &Arc<Server>, key: i64, dtype: DType, numel: usize) -> Result<Arc<KeyState>> {
    let n = server.num_workers;
    let (tx, rx) = mpsc::unbounded_channel();
    let ks = Arc::new(KeyState {
        key,
        dtype,
        numel,
        stored: NDArray::zeros(&[numel], dtype, Context::cpu(0))?,
        merged: NDArray::zeros(&[numel], dtype, Context::cpu(0))?,
        serving: RwLock::new(()),
        round: Mutex::new(Round { pending: (0..n).map(|_| VecDeque::new()).collect(), pushed: vec![0; n], applied: vec![0; n], waiting: Vec::new() }),
        free: Arc::default(),
        apply: tx,
    });
    tokio::spawn(applier(server.clone(), ks.clone(), rx));
    Ok(ks)
}

async fn on_push(server: &Arc<Server>, conn: &Arc<Conn>, read: &mut BufReader<OwnedReadHalf>, h: Header) -> Result<()> {
    let ks = lock(&server.keys).get(&h.key).cloned().ok_or_else(|| KVStoreError::Protocol(format!("Push of key {} before its Init", h.key)))?;
    let compressed = h.flags & FLAG_2BIT != 0;
    if compressed && (ks.dtype != DType::F32 || lock(&server.threshold).is_none()) {
        return Err(KVStoreError::Protocol(format!("a 2-bit compressed Push of key {} without compression set (or not float32)", h.key)));
    }
    let expected = if compressed { codes_len(ks.numel) } else { ks.nbytes() };
    if h.len != expected as u64 {
        return Err(KVStoreError::Protocol(format!("Push of key {}: {} bytes where {expected} were expected", h.key, h.len)));
    }
    let mut buf = lock(&ks.free).pop().filter(|b| b.len() == expected).unwrap_or_else(|| Buf::new(expected));
    read.read_exact(buf.bytes_mut()).await.map_err(net("reading Push"))?;
    let sync = server.mode.load(Ordering::Relaxed) != 2;
    let w = conn.worker;
    let batch = {
        let mut r = lock(&ks.round);
        r.pushed[w] += 1;
        if sync {
            r.pending[w].push_back((buf, h.flags));
            if r.pending.iter().all(|q| !q.is_empty()) {
                Some(r.pending.iter_mut().enumerate().map(|(i, q)| q.pop_front().map(|(b, f)| (i, b, f)).expect("checked")).collect())
            } else {
                None
            }
        } else {
            Some(vec![(w, buf, h.flags)])
        }
    };
    if let Some(batch) = batch {
        let _ = ks.apply.send(batch);
    }
    Ok(())
}

fn on_pull(server: &Arc<Server>, conn: &Arc<Conn>, h: Header) -> Result<()> {
    let ks = lock(&server.keys).get(&h.key).cloned().ok_or_else(|| KVStoreError::Protocol(format!("Pull of key {} before its Init", h.key)))?;
    let ready = {
        let mut r = lock(&ks.round);
        let need = r.pushed[conn.worker];
        if r.applied[conn.worker] >= need {
            true
        } else {
            r.waiting.push(Waiter { conn: conn.clone(), req: h.req, need });
            false
        }
    };
    if ready {
        tokio::spawn(reply(ks, conn.clone(), h.req));
    }
    Ok(())
}

async fn reply(ks: Arc<KeyState>, conn: Arc<Conn>, req: u64) {
    let _shared = ks.serving.read().await;
    let mut w = conn.writer.lock().await;
    // A failed write means the worker is gone: the scheduler reports it.
    let _ = frame::write_msg(&mut *w, Header::new(Kind::PullReply, ks.key, req, 0), &[ks.stored_bytes()]).await;
}

async fn reply_error(conn: &Arc<Conn>, req: u64, text: String) -> Result<()> {
    let mut w = conn.writer.lock().await;
    frame::write_msg(&mut *w, Header::new(Kind::Error, 0, req, 0), &[text.as_bytes()]).await.map_err(net("answering"))
}

/// Applies a key's rounds one after another, then answers the pulls they complete.
async fn applier(server: Arc<Server>, ks: Arc<KeyState>, mut rx: mpsc::UnboundedReceiver<Vec<(usize, Buf, u8)>>) {
    while let Some(batch) = rx.recv().await {
        let workers: Vec<usize> = batch.iter().map(|b| b.0).collect();
        let alone = ks.serving.write().await;
        let (s, k) = (server.clone(), ks.clone());
        let result = tokio::task::spawn_blocking(move || s.apply(&k, batch)).await.unwrap_or_else(|e| Err(KVStoreError::Protocol(format!("the update panicked: {e}"))));
        drop(alone);
        let (ready, failed) = {
            let mut r = lock(&ks.round);
            if result.is_ok() {
                for w in &workers {
                    r.applied[*w] += 1;
                }
            }
            let r = &mut *r;
            let (ready, wait): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut r.waiting).into_iter().partition(|x| r.applied[x.conn.worker] >= x.need);
            r.waiting = wait;
            (ready, result.as_ref().err().map(|e| (e.to_string(), std::mem::take(&mut r.waiting))))
        };
        for x in ready {
            tokio::spawn(reply(ks.clone(), x.conn, x.req));
        }
        if let Some((msg, waiting)) = failed {
            let msg = format!("the update of key {} failed on {}: {msg}", ks.key, server.job.name);
            for x in waiting {
                let _ = reply_error(&x.conn, x.req, msg.clone()).await;
            }
            server.job.fail(msg);
            return;
        }
    }
}

impl Server {
    /// Merges a round into the stored value (through the updater when there is one) and waits
    /// for the engine, so that replies read finished bytes.
    fn apply(&self, ks: &KeyState, batch: Vec<(usize, Buf, u8)>) -> Result<()> {
        let mut updater = lock(&self.updater);
        let target = if updater.is_some() { ks.merged.clone() } else { ks.stored.clone() };
        let threshold = *lock(&self.threshold);
        let parts: Vec<(Buf, Option<f32>)> = batch.into_iter().map(|(_, b, f)| (b, if f & FLAG_2BIT != 0 { threshold } else { None })).collect();
        let (free, dtype, nbytes, out) = (ks.free.clone(), ks.dtype, ks.nbytes(), target.clone());
        let merge = Box::new(move |_: &rmx_engine::RunContext| -> std::result::Result<(), BoxError> {
            // SAFETY: this operation writes `out`'s variable, so it alone touches its dense bytes.
            let bytes = unsafe { std::slice::from_raw_parts_mut(out.data_ptr(), nbytes) };
            let result = sum_into(bytes, &parts, dtype);
            lock(&free).extend(parts.into_iter().map(|p| p.0));
            result.map_err(Into::into)
        });
        engine().push(merge, Context::cpu(0), &[], &[target.var().clone()], FnProperty::Normal, 0, "KVStoreServerMerge".into()).map_err(rmx_graph::GraphError::from)?;
        if let Some(u) = updater.as_mut() {
            let key = Key::Int(ks.key);
            u.update(&key, &ks.merged, &ks.stored).map_err(|source| KVStoreError::Updater { key, source })?;
        }
        ks.stored.wait_to_read()?;
        Ok(())
    }

    /// The optimizer's states (its host's bytes); refused before `set_optimizer`.
    fn states(&self) -> Result<Vec<u8>> {
        let updater = lock(&self.updater);
        let u = updater.as_ref().ok_or_else(|| KVStoreError::Unsupported("no optimizer was set, so there are no optimizer states".into()))?;
        u.get_states().map_err(|e| KVStoreError::Unsupported(format!("the optimizer's states could not be saved: {e}")))
    }

    fn set_states(&self, bytes: &[u8]) -> Result<()> {
        let mut updater = lock(&self.updater);
        let u = updater.as_mut().ok_or_else(|| KVStoreError::Unsupported("load_optimizer_states before set_optimizer".into()))?;
        u.set_states(bytes).map_err(|e| KVStoreError::Unsupported(format!("the optimizer's states could not be loaded: {e}")))
    }

    /// The largest states message accepted: a few arrays per stored element, and its JSON.
    fn states_limit(&self) -> u64 {
        let stored: u64 = lock(&self.keys).values().map(|k| k.nbytes() as u64).sum();
        frame::MAX_CONTROL + 8 * stored
    }

    fn command(&self, cmd: &Command) -> Result<()> {
        match cmd.head.as_str() {
            "optimizer" => {
                let mut current = lock(&self.optimizer);
                if current.as_deref() == Some(cmd.body.as_str()) {
                    return Ok(());
                }
                let updater = self.hooks.optimizer(&cmd.body).map_err(|source| KVStoreError::Updater { key: Key::Str("set_optimizer".into()), source })?;
                *lock(&self.updater) = Some(updater);
                *current = Some(cmd.body.clone());
                Ok(())
            }
            "compression" => {
                let v: serde_json::Value = frame::parse(Kind::Command, cmd.body.as_bytes())?;
                let t = v.get("threshold").and_then(|t| t.as_f64()).filter(|t| *t > 0.0);
                let t = t.ok_or_else(|| KVStoreError::Protocol(format!("compression settings {} without a positive threshold", cmd.body)))?;
                *lock(&self.threshold) = Some(t as f32);
                Ok(())
            }
            other => Err(KVStoreError::Protocol(format!("unknown command {other:?}"))),
        }
    }
}
