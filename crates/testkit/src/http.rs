//! Plain-`std` HTTP/1.1 helpers of the tests that talk to a running server (the
//! `glassbox serve` binary, or a server a test started): one request per connection,
//! reading the address a server announces, and waiting for the server to close a
//! connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `POST path` of the JSON `body` to `addr` (`host:port`) on a new connection
/// (`Connection: close`); returns the status and the JSON body of the answer. Panics when
/// the server does not accept the connection or does not answer with a status line and a
/// JSON object.
pub fn post(addr: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).expect("the server accepts connections");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status: u16 = raw[9..12].parse().expect("an HTTP status line");
    let (start, end) = (raw.find('{').unwrap(), raw.rfind('}').unwrap());
    (status, serde_json::from_str(&raw[start..=end]).unwrap())
}

/// The status of `GET path` from `addr` (`host:port`) on a new connection
/// (`Connection: close`); `None` when the server cannot be reached or gives no status line.
pub fn get_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    raw.get(9..12)?.parse().ok()
}

/// The first line a child process (started with `stderr(Stdio::piped())`) writes to its
/// standard error: where `glassbox serve` announces its address. The rest of its standard
/// error is not read.
pub fn first_stderr_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("the child's stderr is piped"))
        .read_line(&mut line)
        .unwrap();
    line
}

/// The `host:port` after `http://` in `line`, if any.
pub fn announced_address(line: &str) -> Option<String> {
    line.split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .map(str::to_string)
}

/// The address a server child announces on the first line of its standard error
/// ([`first_stderr_line`], [`announced_address`]); panics, quoting the line, without one.
pub fn served_address(child: &mut Child) -> String {
    let line = first_stderr_line(child);
    announced_address(&line).unwrap_or_else(|| panic!("no address in: {line}"))
}

/// Spawns `server`, a command that announces `http://ADDR` on the first line of its
/// standard error as `glassbox serve` does, with that standard error piped; returns the
/// child and the address ([`served_address`]).
pub fn spawn_server(server: &mut Command) -> (Child, String) {
    let mut child = server.stderr(Stdio::piped()).spawn().unwrap();
    let addr = served_address(&mut child);
    (child, addr)
}

/// Reads until EOF (or an error such as a reset) and returns how long it took. Panics when
/// the server keeps the connection open for longer than `limit`.
pub fn wait_for_close(s: &mut TcpStream, limit: Duration) -> Duration {
    s.set_read_timeout(Some(limit)).unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return t0.elapsed(),
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("the server kept the connection open for {:?}", t0.elapsed())
            }
            Err(_) => return t0.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_announced_address_is_the_one_after_http() {
        let line = "glassbox serve: listening on http://127.0.0.1:4321 (Ctrl-C to stop)\n";
        assert_eq!(announced_address(line).as_deref(), Some("127.0.0.1:4321"));
        assert_eq!(announced_address("error: no model\n"), None);
    }

    /// A server answering its first two connections with `201` and `{"ok": true}`.
    fn answering_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(2) {
                let mut s = stream.unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
                    head.push(byte[0]);
                }
                let body = r#"{"ok": true}"#;
                write!(
                    s,
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                // End the answer, then take the rest of the request (a body) until the
                // client closes, so that no unread byte turns the close into a reset.
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let _ = s.read_to_end(&mut Vec::new());
            }
        });
        addr
    }

    #[test]
    fn post_and_get_read_the_status_and_the_json_body() {
        let addr = answering_server();
        let (status, body) = post(&addr, "/x", "{}");
        assert_eq!((status, body), (201, serde_json::json!({"ok": true})));
        assert_eq!(get_status(&addr, "/y"), Some(201));
    }
}
