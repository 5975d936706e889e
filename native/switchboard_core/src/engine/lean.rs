//! A connection's byte stream with its TLS state, when it has any, behind
//! a pointer.
//!
//! hyper-rustls's `MaybeHttpsStream` keeps rustls's connection state
//! (about 1 KB) inline, so every plain connection is as large as a TLS
//! one; nested twice (TLS to the host over a possible TLS hop to a proxy)
//! it made hyper's HTTP/1.1 connection future 2,768 bytes where a plain
//! TCP one takes 616. The pool holds one such future per connection, so
//! on HTTP/1.1 (a connection per call in flight) that was about 2 KB per
//! call; `engine/footprint.rs` guards the size. Boxing costs one
//! allocation per TLS connection, next to a handshake.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::{Connected, Connection};

/// `MaybeHttpsStream` with its TLS variant boxed.
pub enum Lean<T> {
    Plain(T),
    Tls(Box<MaybeHttpsStream<T>>),
}

impl<T> From<MaybeHttpsStream<T>> for Lean<T> {
    fn from(stream: MaybeHttpsStream<T>) -> Self {
        match stream {
            MaybeHttpsStream::Http(plain) => Lean::Plain(plain),
            tls => Lean::Tls(Box::new(tls)),
        }
    }
}

impl<T: Read + Write + Connection + Unpin> Connection for Lean<T> {
    fn connected(&self) -> Connected {
        match self {
            Lean::Plain(s) => s.connected(),
            // ALPN's choice (`h2` or not) is read from the TLS state.
            Lean::Tls(s) => s.connected(),
        }
    }
}

impl<T: Read + Write + Unpin> Read for Lean<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Lean::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Lean::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: Read + Write + Unpin> Write for Lean<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Lean::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Lean::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Lean::Plain(s) => Pin::new(s).poll_flush(cx),
            Lean::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Lean::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Lean::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Lean::Plain(s) => s.is_write_vectored(),
            Lean::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Lean::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Lean::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
}
