//! Local SMTP capture server for the black-box tests.
//!
//! `SmtpCapture::start()` binds `127.0.0.1:0` and speaks enough RFC 5321 for
//! lettre's async SMTP transport without TLS (no STARTTLS, no AUTH). Every
//! message it accepts is parsed (headers, RFC 2047 subject, MIME parts with
//! 7bit / 8bit / quoted-printable / base64 bodies) into a [`CapturedMail`], so a
//! test can read the link or code gatehouse sent.
//!
//! Point gatehouse's `SMTP_URL` at [`SmtpCapture::url`],
//! `smtp://127.0.0.1:PORT?tls=none` (gatehouse's own URL format, see
//! `src/mail/smtp.rs`). That URL is not for lettre's
//! `AsyncSmtpTransport::from_url`, which rejects `tls=none`; a test that
//! talks to the capture through lettre directly uses
//! `AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(capture.port())`.
//!
//! Only std and tokio are used; the MIME handling is a small hand parser.

// Each test binary that includes this module uses only part of it; and as
// test-harness code it may panic on a broken setup.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// How long `wait_for_mail_to` waits before it panics.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Name the server gives itself in its greeting and EHLO reply.
const SERVER_NAME: &str = "127.0.0.1";
/// Reply to every command (and greeting) while the server is down.
const DOWN_REPLY: &[u8] = b"421 4.3.2 Service not available\r\n";
/// Nesting limit for multipart bodies.
const MAX_MIME_DEPTH: usize = 16;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    /// Envelope sender (`MAIL FROM:<...>`); empty for the null sender `<>`.
    pub from: String,
    /// Envelope recipients (`RCPT TO:<...>`), in the order given.
    pub to: Vec<String>,
    /// `Subject` header, unfolded and RFC 2047 decoded; empty if absent.
    pub subject: String,
    /// First `text/plain` part, transfer-decoded, with `\r\n` turned into `\n`;
    /// empty if the message has none.
    pub text: String,
    /// First `text/html` part, decoded the same way.
    pub html: Option<String>,
    /// The message data exactly as received after dot-unstuffing (CRLF line
    /// endings, still transfer-encoded), as lossy UTF-8.
    pub raw: String,
}

impl CapturedMail {
    /// First URL in the text part that starts with `prefix` (e.g.
    /// `"http://localhost:8080/verify-email?token="`).
    ///
    /// The URL ends at whitespace or at one of `< > " ' \``; trailing sentence
    /// punctuation (`. , ; : ! ? ) ] }`) is dropped.
    pub fn link_starting_with(&self, prefix: &str) -> Option<String> {
        if prefix.is_empty() {
            return None;
        }
        let start = self.text.find(prefix)?;
        let rest = &self.text[start..];
        let end = rest[prefix.len()..]
            .find(is_url_terminator)
            .map_or(rest.len(), |i| prefix.len() + i);
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
        let url = if url.len() < prefix.len() {
            &rest[..prefix.len()]
        } else {
            url
        };
        Some(url.to_string())
    }

    /// First run of exactly six ASCII digits standing alone in the text part:
    /// not part of a longer digit run, not glued to an ASCII letter (as in a
    /// hex token), and not inside an `http://` / `https://` URL.
    pub fn six_digit_code(&self) -> Option<String> {
        let text = &self.text;
        let bytes = text.as_bytes();
        let urls = url_spans(text);
        let in_url = |pos: usize| urls.iter().any(|&(s, e)| pos >= s && pos < e);
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let alone_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
            let alone_after = i == bytes.len() || !bytes[i].is_ascii_alphanumeric();
            if i - start == 6 && alone_before && alone_after && !in_url(start) {
                return Some(text[start..i].to_string());
            }
        }
        None
    }

    /// Value of the first top-level header called `name` (case-insensitive),
    /// unfolded and RFC 2047 decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_header_body(self.raw.as_bytes());
        header_value(&parse_headers(head), name).map(decode_rfc2047)
    }
}

fn is_url_terminator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`')
}

/// Byte ranges of `http://` and `https://` URLs in `text`.
fn url_spans(text: &str) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while from < lower.len() {
        let next = ["http://", "https://"]
            .iter()
            .filter_map(|scheme| lower[from..].find(scheme))
            .min();
        let Some(offset) = next else { break };
        let start = from + offset;
        let end = text[start..].find(is_url_terminator).map_or(text.len(), |i| start + i);
        spans.push((start, end));
        from = end;
    }
    spans
}

/// Local SMTP capture server; clones share one server, which stops when the
/// last clone is dropped (or when the tokio runtime ends).
#[derive(Clone)]
pub struct SmtpCapture {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    port: u16,
    /// Dropping this stops the accept loop and every open connection.
    _shutdown: watch::Sender<()>,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<CapturedMail>>,
    arrived: Notify,
    down: AtomicBool,
    refused: AtomicUsize,
    connections: AtomicUsize,
    hold: Hold,
}

/// While held, a message whose DATA has been read is not answered (nor stored) until released:
/// a mail "being sent" that a test can keep in flight.
struct Hold {
    held: watch::Sender<bool>,
    parked: watch::Sender<usize>,
}

impl Default for Hold {
    fn default() -> Self {
        Self {
            held: watch::channel(false).0,
            parked: watch::channel(0).0,
        }
    }
}

impl Shared {
    fn messages(&self) -> MutexGuard<'_, Vec<CapturedMail>> {
        // A panicking test thread must not hide the mail from the others.
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SmtpCapture {
    /// Binds 127.0.0.1:0 and serves in a tokio task until dropped (or until
    /// the runtime ends).
    pub async fn start() -> SmtpCapture {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("SmtpCapture: cannot bind 127.0.0.1:0");
        let port = listener.local_addr().expect("SmtpCapture: no local address").port();
        let shared = Arc::new(Shared::default());
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_rx));
        SmtpCapture {
            inner: Arc::new(Inner {
                shared,
                port,
                _shutdown: shutdown_tx,
            }),
        }
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// `smtp://127.0.0.1:PORT?tls=none`: plain SMTP without TLS, in the
    /// format of gatehouse's `SMTP_URL` (lettre's own `from_url` does not
    /// accept `tls=none`).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port())
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<CapturedMail> {
        self.inner.shared.messages().clone()
    }

    /// Messages whose envelope recipients include `to` (case-insensitive).
    pub fn messages_to(&self, to: &str) -> Vec<CapturedMail> {
        self.inner
            .shared
            .messages()
            .iter()
            .filter(|m| m.to.iter().any(|r| same_address(r, to)))
            .cloned()
            .collect()
    }

    /// Returns the `nth` (0-based, in arrival order) message to `to` once it
    /// exists; panics, listing what was received, if it has not arrived
    /// within 10 s.
    pub async fn wait_for_mail_to(&self, to: &str, nth: usize) -> CapturedMail {
        let shared = &self.inner.shared;
        let deadline = tokio::time::Instant::now() + WAIT_TIMEOUT;
        loop {
            // Register for the wake-up before looking, so that a message
            // stored between the look and the wait is not missed.
            let notified = shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(mail) = self.messages_to(to).into_iter().nth(nth) {
                return mail;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if let Some(mail) = self.messages_to(to).into_iter().nth(nth) {
                    return mail;
                }
                panic!("{}", self.timeout_report(to, nth));
            }
        }
    }

    fn timeout_report(&self, to: &str, nth: usize) -> String {
        let all = self.messages();
        let matching = all.iter().filter(|m| m.to.iter().any(|r| same_address(r, to))).count();
        let mut report = format!(
            "SmtpCapture: message #{nth} (0-based) to {to:?} did not arrive within {}s; \
             {matching} message(s) to that address; {} message(s) received in all; \
             {} connection(s) accepted, {} refused while down{}",
            WAIT_TIMEOUT.as_secs(),
            all.len(),
            self.connections(),
            self.refused_connections(),
            if self.inner.shared.down.load(Ordering::SeqCst) {
                " (server is down now)"
            } else {
                ""
            }
        );
        for (i, m) in all.iter().enumerate() {
            let _ = write!(
                report,
                "\n  #{i}: from {:?} to {:?} subject {:?}",
                m.from, m.to, m.subject
            );
        }
        report
    }

    /// While down, every new connection is greeted with
    /// `421 4.3.2 Service not available` and closed, and an already open
    /// connection gets the same reply to its next command (except QUIT) and
    /// is closed, so a pooled client's next send fails with a transient error.
    pub fn set_down(&self, down: bool) {
        self.inner.shared.down.store(down, Ordering::SeqCst);
    }

    /// Number of connections closed with `421` while down (new connections
    /// refused at the greeting, plus open connections cut at a command).
    pub fn refused_connections(&self) -> usize {
        self.inner.shared.refused.load(Ordering::SeqCst)
    }

    /// From now on, each message is held after its DATA until [`Self::release_mail`].
    pub fn hold_mail(&self) {
        self.inner.shared.hold.held.send_replace(true);
    }

    pub fn release_mail(&self) {
        self.inner.shared.hold.held.send_replace(false);
    }

    /// Waits until a message is held mid-delivery.
    pub async fn wait_until_mail_is_held(&self) {
        let mut parked = self.inner.shared.hold.parked.subscribe();
        tokio::time::timeout(Duration::from_secs(10), parked.wait_for(|n| *n > 0))
            .await
            .expect("no message reached the SMTP capture within 10 s")
            .expect("the capture server is running");
    }

    /// Number of TCP connections accepted so far (refused ones included).
    pub fn connections(&self) -> usize {
        self.inner.shared.connections.load(Ordering::SeqCst)
    }
}

/// Compares two mailbox addresses case-insensitively, ignoring `<>` and
/// surrounding whitespace.
fn same_address(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_lowercase()
    }
    norm(a) == norm(b)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<()>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    let shared = Arc::clone(&shared);
                    let mut shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = shutdown.changed() => {}
                            _ = serve_connection(stream, &shared) => {}
                        }
                    });
                }
                // E.g. too many open files: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

/// One SMTP transaction in progress.
struct Transaction {
    from: String,
    to: Vec<String>,
}

async fn reply(out: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes()).await?;
    out.flush().await
}

async fn refuse(shared: &Shared, out: &mut OwnedWriteHalf) -> std::io::Result<()> {
    shared.refused.fetch_add(1, Ordering::SeqCst);
    out.write_all(DOWN_REPLY).await?;
    out.flush().await?;
    out.shutdown().await
}

async fn serve_connection(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut out) = stream.into_split();
    let mut input = BufReader::new(read);
    if shared.down.load(Ordering::SeqCst) {
        return refuse(shared, &mut out).await;
    }
    reply(
        &mut out,
        &format!("220 {SERVER_NAME} ESMTP gatehouse test capture ready\r\n"),
    )
    .await?;

    let mut greeted = false;
    let mut txn: Option<Transaction> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match command.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
            None => (command.trim().to_ascii_uppercase(), ""),
        };
        if verb != "QUIT" && shared.down.load(Ordering::SeqCst) {
            return refuse(shared, &mut out).await;
        }
        match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => reply(&mut out, "501 5.5.4 Syntax: EHLO/HELO hostname\r\n").await?,
            "EHLO" => {
                greeted = true;
                txn = None;
                reply(
                    &mut out,
                    &format!(
                        "250-{SERVER_NAME} Hello {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                         250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n"
                    ),
                )
                .await?
            }
            "HELO" => {
                greeted = true;
                txn = None;
                reply(&mut out, &format!("250 {SERVER_NAME} Hello {arg}\r\n")).await?
            }
            "MAIL" if !greeted => reply(&mut out, "503 5.5.1 Send EHLO or HELO first\r\n").await?,
            "MAIL" if txn.is_some() => reply(&mut out, "503 5.5.1 Nested MAIL command\r\n").await?,
            "MAIL" => match parse_path(arg, "FROM:") {
                Some(from) => {
                    txn = Some(Transaction { from, to: Vec::new() });
                    reply(&mut out, "250 2.1.0 OK\r\n").await?
                }
                None => reply(&mut out, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n").await?,
            },
            "RCPT" => match (txn.as_mut(), parse_path(arg, "TO:")) {
                (None, _) => reply(&mut out, "503 5.5.1 Need MAIL before RCPT\r\n").await?,
                (Some(_), None) => reply(&mut out, "501 5.5.4 Syntax: RCPT TO:<address>\r\n").await?,
                (Some(_), Some(to)) if to.is_empty() => {
                    reply(&mut out, "501 5.1.3 Empty recipient address\r\n").await?
                }
                (Some(t), Some(to)) => {
                    t.to.push(to);
                    reply(&mut out, "250 2.1.5 OK\r\n").await?
                }
            },
            "DATA" if !arg.is_empty() => reply(&mut out, "501 5.5.4 DATA takes no parameters\r\n").await?,
            "DATA" if txn.as_ref().is_none_or(|t| t.to.is_empty()) => {
                reply(&mut out, "503 5.5.1 Need RCPT before DATA\r\n").await?
            }
            "DATA" => {
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let Some(data) = read_data(&mut input).await? else {
                    return Ok(()); // connection closed in the middle of DATA
                };
                let t = txn.take().expect("transaction checked above");
                let mut held = shared.hold.held.subscribe();
                if *held.borrow_and_update() {
                    shared.hold.parked.send_modify(|n| *n += 1);
                    let _ = held.wait_for(|h| !*h).await;
                    shared.hold.parked.send_modify(|n| *n -= 1);
                }
                let mail = parse_mail(t.from, t.to, &data);
                let id = {
                    let mut messages = shared.messages();
                    messages.push(mail);
                    messages.len()
                };
                shared.arrived.notify_waiters();
                reply(&mut out, &format!("250 2.0.0 OK: queued as {id}\r\n")).await?
            }
            "RSET" => {
                txn = None;
                reply(&mut out, "250 2.0.0 OK\r\n").await?
            }
            "NOOP" => reply(&mut out, "250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                reply(&mut out, "221 2.0.0 Bye\r\n").await?;
                return out.shutdown().await;
            }
            "" => reply(&mut out, "500 5.5.2 Empty command\r\n").await?,
            _ => reply(&mut out, "502 5.5.2 Command not implemented\r\n").await?,
        }
    }
}

/// Reads message data up to the `.` line, undoing dot-stuffing. Returns
/// `None` if the connection ends first.
async fn read_data<R: AsyncBufReadExt + Unpin>(input: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(data));
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}

/// Parses `FROM:<addr> PARAMS` / `TO:<addr> PARAMS`; returns the address.
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let address = if let Some(quoted) = rest.strip_prefix('<') {
        &quoted[..quoted.find('>')?]
    } else {
        rest.split_whitespace().next().unwrap_or("")
    };
    // Drop an obsolete source route (`<@a,@b:user@host>`).
    let address = match address.strip_prefix('@') {
        Some(_) => address.split_once(':').map_or(address, |(_, a)| a),
        None => address,
    };
    Some(address.trim().to_string())
}

// ---------------------------------------------------------------------------
// Message parsing
// ---------------------------------------------------------------------------

fn parse_mail(from: String, to: Vec<String>, data: &[u8]) -> CapturedMail {
    let (head, body) = split_header_body(data);
    let headers = parse_headers(head);
    let subject = header_value(&headers, "subject")
        .map(decode_rfc2047)
        .unwrap_or_default();
    // The CRLF that ended the last line of data belongs to the terminating
    // `\r\n.\r\n`; lettre always sends it, so drop it from a top-level body.
    let body = strip_one_newline(body);
    let mut text = None;
    let mut html = None;
    collect_text(&headers, body, &mut text, &mut html, 0);
    CapturedMail {
        from,
        to,
        subject,
        text: text.unwrap_or_default(),
        html,
        raw: String::from_utf8_lossy(data).into_owned(),
    }
}

/// Splits an entity at its first empty line.
fn split_header_body(data: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..end];
        if line == b"\r\n" || line == b"\n" {
            return (&data[..pos], &data[end..]);
        }
        pos = end;
    }
    (data, &[])
}

fn strip_one_newline(data: &[u8]) -> &[u8] {
    data.strip_suffix(b"\r\n")
        .or_else(|| data.strip_suffix(b"\n"))
        .unwrap_or(data)
}

/// Header fields in order, names as written, folded lines joined.
fn parse_headers(head: &[u8]) -> Vec<(String, String)> {
    let head = String::from_utf8_lossy(head);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.to_string()));
        }
    }
    for (_, value) in &mut headers {
        *value = value.trim().to_string();
    }
    headers
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `type/subtype; name=value; ...` as the lower-cased type and its
/// parameters (names lower-cased, values unquoted).
fn parse_content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            ';' if !quoted => pieces.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    pieces.push(current);
    let mut pieces = pieces.into_iter();
    let mime = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
        })
        .collect();
    (mime, params)
}

fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Walks the MIME tree and keeps the first inline text/plain and text/html.
fn collect_text(
    headers: &[(String, String)],
    body: &[u8],
    text: &mut Option<String>,
    html: &mut Option<String>,
    depth: usize,
) {
    let (mime, params) = header_value(headers, "content-type")
        .map(parse_content_type)
        .unwrap_or_else(|| ("text/plain".to_string(), Vec::new()));
    if mime.starts_with("multipart/") {
        let Some(boundary) = param(&params, "boundary") else {
            return;
        };
        if depth >= MAX_MIME_DEPTH {
            return;
        }
        for part in split_multipart(body, boundary) {
            let (head, part_body) = split_header_body(part);
            collect_text(&parse_headers(head), part_body, text, html, depth + 1);
        }
        return;
    }
    let attachment = header_value(headers, "content-disposition").is_some_and(|d| {
        d.split(';')
            .next()
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("attachment"))
    });
    if attachment {
        return;
    }
    let slot = match mime.as_str() {
        "text/plain" | "" => text,
        "text/html" => html,
        _ => return,
    };
    if slot.is_none() {
        let encoding = header_value(headers, "content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => decode_base64(body),
            _ => body.to_vec(),
        };
        let charset = param(&params, "charset").unwrap_or("utf-8");
        *slot = Some(decode_charset(&bytes, charset).replace("\r\n", "\n"));
    }
}

/// Bodies of the parts between `--boundary` lines (preamble and epilogue
/// dropped; the line break before each delimiter belongs to the delimiter).
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| pos + i + 1);
        let line = String::from_utf8_lossy(&body[pos..end]);
        let line = line.trim_end_matches(['\r', '\n', ' ', '\t']);
        let is_close = line == close;
        if is_close || line == delimiter {
            if let Some(start) = part_start {
                parts.push(strip_one_newline(&body[start..pos]));
            }
            if is_close {
                return parts;
            }
            part_start = Some(end);
        }
        pos = end;
    }
    // No closing delimiter: keep what was there.
    if let Some(start) = part_start {
        parts.push(strip_one_newline(&body[start.min(body.len())..]));
    }
    parts
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `=XX` escapes; an `=` not followed by two hex digits is kept as is.
fn decode_qp_escapes(input: &[u8], underscore_is_space: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' && i + 2 < input.len() {
            if let (Some(hi), Some(lo)) = (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(if underscore_is_space && b == b'_' { b' ' } else { b });
        i += 1;
    }
}

/// Quoted-printable body (RFC 2045 6.7): soft line breaks (`=` at the end of
/// a line) are removed, trailing whitespace on a line is ignored, hard line
/// breaks become CRLF.
fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut lines = input.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let has_newline = lines.peek().is_some();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed_len = line.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
        let line = &line[..trimmed_len];
        if let Some(soft) = line.strip_suffix(b"=") {
            decode_qp_escapes(soft, false, &mut out);
        } else {
            decode_qp_escapes(line, false, &mut out);
            if has_newline {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

/// Base64 (standard or URL-safe alphabet), ignoring line breaks and any
/// other characters outside the alphabet; stops at padding.
fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in input {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match charset.trim().to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" | "windows-1252" | "cp1252" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// One RFC 2047 encoded-word found in a header value.
struct EncodedWord {
    start: usize,
    end: usize,
    charset: String,
    bytes: Vec<u8>,
}

/// Finds the first well-formed `=?charset?b|q?text?=` in `s`.
fn find_encoded_word(s: &str) -> Option<EncodedWord> {
    let mut search = 0;
    while let Some(offset) = s[search..].find("=?") {
        let start = search + offset;
        search = start + 2;
        let rest = &s[start + 2..];
        let Some((charset, rest)) = rest.split_once('?') else {
            continue;
        };
        let Some((encoding, rest)) = rest.split_once('?') else {
            continue;
        };
        let Some(text_len) = rest.find("?=") else {
            continue;
        };
        let text = &rest[..text_len];
        if charset.is_empty() || text.contains([' ', '\t', '\r', '\n']) {
            continue;
        }
        let bytes = match encoding {
            "b" | "B" => decode_base64(text.as_bytes()),
            "q" | "Q" => {
                let mut out = Vec::new();
                decode_qp_escapes(text.as_bytes(), true, &mut out);
                out
            }
            _ => continue,
        };
        // RFC 2231 allows `charset*language`.
        let charset = charset.split('*').next().unwrap_or(charset).to_string();
        let end = s.len() - rest[text_len + 2..].len();
        return Some(EncodedWord {
            start,
            end,
            charset,
            bytes,
        });
    }
    None
}

/// Decodes RFC 2047 encoded-words in a header value. Whitespace between two
/// adjacent encoded-words is dropped, and their bytes are joined before the
/// charset is applied (so a character split across words survives).
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut rest = value;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((charset, bytes)) = pending.take() {
            out.push_str(&decode_charset(&bytes, &charset));
        }
    };
    while let Some(word) = find_encoded_word(rest) {
        let between = &rest[..word.start];
        let adjacent = pending.is_some() && between.chars().all(char::is_whitespace);
        match pending.as_mut() {
            Some((charset, bytes)) if adjacent && charset.eq_ignore_ascii_case(&word.charset) => {
                bytes.extend_from_slice(&word.bytes);
            }
            _ => {
                flush(&mut pending, &mut out);
                if !adjacent {
                    out.push_str(between);
                }
                pending = Some((word.charset, word.bytes));
            }
        }
        rest = &rest[word.end..];
    }
    flush(&mut pending, &mut out);
    out.push_str(rest);
    out
}
