//! What the test files share: the in-process server on a loopback port, nginx in front of it,
//! and a small HTTP/1.0 client for many requests at once. Peers come from
//! `uwsgi-test-support` (stopped by process group on drop; files in `target/peer-tmp/`).
#![allow(dead_code)] // each test binary uses part of it

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uwsgi_service::{HttpService, ServerConfig};
use uwsgi_test_support::{HttpReply, Peer, parse_http};

/// The server under test, running in this process.
pub(crate) struct Served {
    pub(crate) port: u16,
    shutdown: Option<oneshot::Sender<()>>,
    pub(crate) task: JoinHandle<io::Result<()>>,
}

impl Served {
    /// Starts `service` with `config` on a free loopback port, with a graceful-shutdown trigger.
    pub(crate) async fn start<S, M>(service: S, config: ServerConfig) -> Served
    where
        S: HttpService<M>,
        M: 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let (shutdown, signal) = oneshot::channel::<()>();
        let serve = uwsgi_service::serve(listener, service)
            .with_config(config)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            });
        let task = tokio::spawn(serve.into_future());
        Served {
            port,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// Starts the graceful shutdown.
    pub(crate) fn shut_down(&mut self) {
        if let Some(trigger) = self.shutdown.take() {
            let _ = trigger.send(());
        }
    }
}

/// nginx with `uwsgi_pass 127.0.0.1:PORT` at `/` and a `rewrite … break` from `/old/` to
/// `/new/`; returns the guard, its port and its error log.
pub(crate) fn nginx_in_front(dir: &Path, upstream: &str) -> (Peer, u16, PathBuf) {
    let locations = format!(
        "        location / {{ include /etc/nginx/uwsgi_params; uwsgi_pass {upstream}; }}\n\
         \x20       location /old/ {{ rewrite ^/old/(.*)$ /new/$1 break; \
         include /etc/nginx/uwsgi_params; uwsgi_pass {upstream}; }}\n"
    );
    uwsgi_test_support::start_nginx(dir, &locations)
}

/// One HTTP/1.0 request (`request` is the head without its final empty line) to
/// `127.0.0.1:port`, read to the end, within 20 s.
pub(crate) async fn http10(port: u16, request: &str) -> HttpReply {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(format!("{request}\r\n\r\n").as_bytes())
            .await?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        io::Result::Ok(reply)
    };
    let reply = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("an answer within 20 s")
        .expect("the exchange");
    parse_http(&reply)
}

/// Deterministic bytes that are not periodic in any small power of two.
pub(crate) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// FNV-1a over `bytes`, continuing from `hash` (start with `FNV_START`).
pub(crate) fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x100_0000_01b3);
    }
    hash
}

/// FNV-1a's offset basis.
pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
