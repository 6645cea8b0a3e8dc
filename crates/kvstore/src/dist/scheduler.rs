//! The scheduler: every server and worker registers with it; once all have, it gives each its
//! rank and the servers' addresses. Then it runs the workers' barriers, exchanges heartbeats with
//! every process, and ends the job: normally once every worker finished (`Shutdown` to all), or
//! when a process dies or goes silent (`PeerLost`, naming it, to all; the scheduler then fails).

use std::time::{Duration, Instant};

use tokio::io::BufReader;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::config::{DistConfig, Role};
use super::frame::{self, Header, Kind};
use super::job::{net, runtime};
use super::msg::{token_matches, Register, Welcome};
use crate::error::{KVStoreError, Result};

/// Runs the scheduler of the job `cfg` describes until the job ends.
pub fn run_scheduler(cfg: &DistConfig) -> Result<()> {
    runtime("scheduler")?.block_on(Scheduler::run(cfg.clone()))
}

struct Node {
    role: Role,
    name: String,
    writer: OwnedWriteHalf,
    last_seen: Instant,
    finished: bool,
    gone: bool,
}

/// A registered process's connection: the request, its two halves, the peer address.
type Joined = (Register, BufReader<OwnedReadHalf>, OwnedWriteHalf, String);

enum Event {
    Joined(Box<Joined>),
    Msg(usize, Header),
    Closed(usize, String),
}

struct Scheduler {
    cfg: DistConfig,
    nodes: Vec<Node>,
    barrier: Vec<u64>,
}

impl Scheduler {
    async fn run(cfg: DistConfig) -> Result<()> {
        let listener = TcpListener::bind(&cfg.root).await.map_err(net(format!("listening on {}", cfg.root)))?;
        if cfg.verbose > 0 {
            eprintln!("rmx kvstore scheduler: listening on {} for {} servers and {} workers", cfg.root, cfg.num_servers, cfg.num_workers);
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(accept(listener, cfg.token.clone(), tx.clone()));
        let mut me = Scheduler { cfg, nodes: Vec::new(), barrier: Vec::new() };
        let joined = me.gather(&mut rx).await?;
        me.welcome(joined, &tx).await?;
        me.serve(&mut rx).await
    }

    /// Waits for every process to register (at most `start_timeout`).
    async fn gather(&mut self, rx: &mut mpsc::UnboundedReceiver<Event>) -> Result<Vec<Joined>> {
        let want = self.cfg.num_servers + self.cfg.num_workers;
        let deadline = tokio::time::Instant::now() + self.cfg.start_timeout;
        let mut joined = Vec::new();
        let (mut servers, mut workers) = (0, 0);
        while joined.len() < want {
            let event = tokio::time::timeout_at(deadline, rx.recv()).await.map_err(|_| {
                KVStoreError::PeerLost(format!(
                    "only {servers} of {} servers and {workers} of {} workers registered within {:?}",
                    self.cfg.num_servers, self.cfg.num_workers, self.cfg.start_timeout
                ))
            })?;
            let Some(Event::Joined(j)) = event else { continue };
            let (reg, peer) = (&j.0, &j.3);
            let (count, limit) = if reg.role == "server" { (&mut servers, self.cfg.num_servers) } else { (&mut workers, self.cfg.num_workers) };
            if *count == limit {
                eprintln!("rmx kvstore scheduler: refused an extra {} from {peer} (the job has {limit})", reg.role);
                continue;
            }
            *count += 1;
            if self.cfg.verbose > 0 {
                eprintln!("rmx kvstore scheduler: {} {} registered from {peer} (pid {})", reg.role, reg.host, reg.pid);
            }
            joined.push(*j);
        }
        Ok(joined)
    }

    /// Ranks: servers in order of arrival; workers by `RMX_WORKER_RANK` when every worker gave a
    /// distinct one in range, else in order of arrival.
    async fn welcome(&mut self, joined: Vec<Joined>, tx: &mpsc::UnboundedSender<Event>) -> Result<()> {
        let nw = self.cfg.num_workers;
        let hints: Vec<Option<usize>> = joined.iter().filter(|j| j.0.role == "worker").map(|j| j.0.rank_hint).collect();
        let mut seen = vec![false; nw];
        let use_hints = hints.iter().all(|h| matches!(h, Some(r) if *r < nw && !std::mem::replace(&mut seen[*r], true)));
        let servers: Vec<String> = joined.iter().filter(|j| j.0.role == "server").map(|j| j.0.addr.clone().unwrap_or_default()).collect();
        let (mut next_server, mut next_worker) = (0, 0);
        for (reg, read, mut writer, peer) in joined {
            let role = Role::parse(&reg.role)?;
            let rank = match role {
                Role::Server => post_inc(&mut next_server),
                _ if use_hints => reg.rank_hint.expect("checked"),
                _ => post_inc(&mut next_worker),
            };
            let name = format!("{} {rank} ({peer}, pid {} on {})", role.name(), reg.pid, reg.host);
            let w = Welcome { rank, num_workers: nw, num_servers: self.cfg.num_servers, servers: servers.clone() };
            frame::write_msg(&mut writer, Header::new(Kind::Welcome, 0, 0, 0), &[&frame::json(&w)]).await.map_err(net(format!("welcoming {name}")))?;
            let id = self.nodes.len();
            tokio::spawn(read_node(id, read, tx.clone()));
            self.nodes.push(Node { role, name, writer, last_seen: Instant::now(), finished: false, gone: false });
        }
        if self.cfg.verbose > 0 {
            eprintln!("rmx kvstore scheduler: the job started (servers at {})", servers.join(", "));
        }
        Ok(())
    }

    async fn serve(&mut self, rx: &mut mpsc::UnboundedReceiver<Event>) -> Result<()> {
        let mut tick = tokio::time::interval(self.cfg.heartbeat());
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(Event::Msg(id, h)) => {
                        if let Some(done) = self.on_msg(id, h).await {
                            return done;
                        }
                    }
                    Some(Event::Closed(id, why)) => {
                        let node = &mut self.nodes[id];
                        node.gone = true;
                        if !node.finished {
                            let msg = format!("{} was lost: {why}", node.name);
                            return self.lost(msg).await;
                        }
                    }
                    Some(Event::Joined(j)) => eprintln!("rmx kvstore scheduler: refused a late {} from {}: the job already started", j.0.role, j.3),
                    None => return Ok(()),
                },
                _ = tick.tick() => {
                    let silent = self.nodes.iter().find(|n| !n.gone && !n.finished && n.last_seen.elapsed() > self.cfg.timeout);
                    if let Some(n) = silent {
                        let msg = format!("{} sent no heartbeat for {:?}", n.name, self.cfg.timeout);
                        return self.lost(msg).await;
                    }
                    self.broadcast(Kind::Heartbeat, b"").await;
                }
            }
        }
    }

    /// Handles one message; `Some` ends the job.
    async fn on_msg(&mut self, id: usize, h: Header) -> Option<Result<()>> {
        self.nodes[id].last_seen = Instant::now();
        match h.kind {
            Kind::Heartbeat => None,
            Kind::Barrier => {
                self.barrier.push(id as u64);
                self.barrier.push(h.req);
                if self.barrier.len() / 2 == self.cfg.num_workers {
                    for pair in std::mem::take(&mut self.barrier).chunks(2) {
                        let node = &mut self.nodes[pair[0] as usize];
                        let _ = frame::write_msg(&mut node.writer, Header::new(Kind::BarrierDone, 0, pair[1], 0), &[]).await;
                    }
                }
                None
            }
            Kind::Finish => {
                self.nodes[id].finished = true;
                let done = self.nodes.iter().filter(|n| n.role == Role::Worker && n.finished).count();
                if done < self.cfg.num_workers {
                    return None;
                }
                if self.cfg.verbose > 0 {
                    eprintln!("rmx kvstore scheduler: every worker finished; ending the job");
                }
                for n in self.nodes.iter_mut() {
                    n.finished = true;
                }
                self.broadcast(Kind::Shutdown, b"").await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some(Ok(()))
            }
            other => {
                let msg = format!("{} sent an unexpected {other:?}", self.nodes[id].name);
                Some(self.lost(msg).await)
            }
        }
    }

    /// Tells every other process that a peer was lost, and fails.
    async fn lost(&mut self, msg: String) -> Result<()> {
        eprintln!("rmx kvstore scheduler: {msg}; ending the job");
        self.broadcast(Kind::PeerLost, msg.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Err(KVStoreError::PeerLost(msg))
    }

    async fn broadcast(&mut self, kind: Kind, body: &[u8]) {
        for n in self.nodes.iter_mut().filter(|n| !n.gone) {
            // A write to a silent peer must not stall the rest.
            let parts = [body];
            let send = frame::write_msg(&mut n.writer, Header::new(kind, 0, 0, 0), &parts);
            if !matches!(tokio::time::timeout(Duration::from_secs(1), send).await, Ok(Ok(()))) {
                n.gone = true;
            }
        }
    }
}

fn post_inc(n: &mut usize) -> usize {
    *n += 1;
    *n - 1
}

/// Accepts connections; each must register with the job's token within a few seconds, else it is
/// dropped (and logged) without disturbing the job.
async fn accept(listener: TcpListener, token: String, tx: mpsc::UnboundedSender<Event>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let (token, tx) = (token.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tokio::time::timeout(Duration::from_secs(10), handshake(stream, &token)).await {
                Ok(Ok((reg, read, write))) => {
                    let _ = tx.send(Event::Joined(Box::new((reg, read, write, peer.to_string()))));
                }
                Ok(Err(e)) => eprintln!("rmx kvstore scheduler: dropped a connection from {peer}: {e}"),
                Err(_) => eprintln!("rmx kvstore scheduler: dropped a connection from {peer}: no registration within 10 s"),
            }
        });
    }
}

async fn handshake(stream: TcpStream, token: &str) -> Result<(Register, BufReader<OwnedReadHalf>, OwnedWriteHalf)> {
    let (read, write) = stream.into_split();
    let mut read = BufReader::new(read);
    let h = frame::read_header(&mut read).await.map_err(net("reading a registration"))?;
    if h.kind != Kind::Register {
        return Err(KVStoreError::Protocol(format!("expected Register, got {:?}", h.kind)));
    }
    let body = frame::read_control(&mut read, &h).await.map_err(net("reading a registration"))?;
    let reg: Register = frame::parse(Kind::Register, &body)?;
    if !token_matches(&reg.token, token) {
        return Err(KVStoreError::Protocol("wrong job token (RMX_KVSTORE_TOKEN)".into()));
    }
    if Role::parse(&reg.role)? == Role::Scheduler {
        return Err(KVStoreError::Protocol("a second scheduler registered".into()));
    }
    Ok((reg, read, write))
}

/// Forwards a node's messages to the scheduler's loop; its end (or a malformed message) closes it.
async fn read_node(id: usize, mut read: BufReader<OwnedReadHalf>, tx: mpsc::UnboundedSender<Event>) {
    let why = loop {
        let h = match frame::read_header(&mut read).await {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break "its connection closed".to_string(),
            Err(e) => break e.to_string(),
        };
        if let Err(e) = frame::read_control(&mut read, &h).await {
            break e.to_string();
        }
        if tx.send(Event::Msg(id, h)).is_err() {
            return;
        }
    };
    let _ = tx.send(Event::Closed(id, why));
}
