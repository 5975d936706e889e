//! `switchboard_mock [--host 127.0.0.1] [--port 0] [--no-stdin-watch] [--max-records N]
//! [--root DIR] [--google-service-account FILE]...`
//!
//! `--root` is the only folder replay steps and the control API's file
//! readers may read; without it they read nothing.
//!
//! Prints `SWITCHBOARD_MOCK_LISTENING <addr>` once bound, then serves until
//! stdin reaches EOF, so an Elixir Port owner dying takes the mock with it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use switchboard_mock::{Config, FileRoot};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpSocket};

/// Deep enough for load tests that open thousands of connections at once.
const LISTEN_BACKLOG: u32 = 4096;

const USAGE: &str = "usage: switchboard_mock [--host HOST] [--port PORT] [--no-stdin-watch] \
     [--max-records N] [--root DIR] [--google-service-account FILE]...";

struct Args {
    host: String,
    port: u16,
    stdin_watch: bool,
    max_records: usize,
    root: Option<String>,
    /// Service-account JSON files whose keys the token endpoint accepts.
    service_accounts: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".to_owned(),
        port: 0,
        stdin_watch: true,
        max_records: switchboard_mock::DEFAULT_MAX_RECORDS,
        root: None,
        service_accounts: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => args.host = value("--host")?,
            "--port" => {
                let v = value("--port")?;
                args.port = v.parse().map_err(|_| format!("invalid port {v:?}"))?;
            }
            "--max-records" => {
                let v = value("--max-records")?;
                args.max_records = v.parse().map_err(|_| format!("invalid count {v:?}"))?;
            }
            "--root" => args.root = Some(value("--root")?),
            "--google-service-account" => args
                .service_accounts
                .push(value("--google-service-account")?),
            "--no-stdin-watch" => args.stdin_watch = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let addr: SocketAddr = tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} resolves to no address")))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Thousands of concurrent test connections exceed the common soft limit of
/// 1024 descriptors; the hard limit is ours to take.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Exits when stdin closes: the owning process is gone.
async fn watch_stdin() {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    loop {
        match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => std::process::exit(0),
            Ok(_) => {}
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let root = match args
        .root
        .as_deref()
        .map(|dir| FileRoot::new(Path::new(dir)))
    {
        None => FileRoot::default(),
        Some(Ok(root)) => root,
        Some(Err(e)) => {
            eprintln!("switchboard_mock: --root: {e}");
            return ExitCode::from(2);
        }
    };
    let config = Config {
        max_records: args.max_records,
        root,
        ..Config::default()
    };
    for path in &args.service_accounts {
        let added = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| config.google_keys.add(&serde_json::Value::String(text)));
        if let Err(e) = added {
            eprintln!("switchboard_mock: --google-service-account {path}: {e}");
            return ExitCode::from(2);
        }
    }
    raise_fd_limit();
    let listener = match bind(&args.host, args.port).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "switchboard_mock: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("switchboard_mock: {e}");
            return ExitCode::from(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "SWITCHBOARD_MOCK_LISTENING {addr}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::from(1);
        }
    }
    if args.stdin_watch {
        tokio::spawn(watch_stdin());
    }
    match switchboard_mock::serve_with(listener, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard_mock: {e}");
            ExitCode::from(1)
        }
    }
}
