//! One connection from the front end: read the request packet within the head deadline, hand
//! the service the request while the body streams in, write the response, drain, close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadHalf, WriteHalf};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout, timeout_at};
use uwsgi_codec::codec::{ServerCodec, ServerFrame};
use uwsgi_codec::{Modifier1, Packet, PacketBuilder, Parser};

use super::body::{BodySender, RequestBody};
use super::pump::{Pumped, pump};
use super::reject::{refuse, status_for};
use super::response::{write_all, write_response};
use super::{PeerInfo, ServerConfig};
use crate::convert;
use crate::frames::FrameReader;
use crate::service::HttpService;

type Reader<IO> = FrameReader<ReadHalf<IO>, ServerCodec>;

/// The server's shutdown signal, as a connection sees it.
pub(crate) type Shutdown = watch::Receiver<bool>;

/// A signal for a connection served on its own ([`serve_connection`](super::serve_connection)):
/// its sender is gone, which [`shut_down`] reads as never.
pub(crate) fn never() -> Shutdown {
    watch::channel(false).1
}

/// Completes when the server starts shutting down; never if it cannot.
async fn shut_down(shutdown: &mut Shutdown) {
    if shutdown.wait_for(|&closing| closing).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How long after its accept a connection that has sent nothing is still waited for once the
/// server shuts down. A front end writes its request as soon as it connects, so a silent
/// connection this old is idle; a younger one may have its request in the socket, not yet
/// seen, or on the way.
const SILENT_GRACE: Duration = Duration::from_secs(1);

/// The connection's first frame, or `None` if the server shuts down and the connection has
/// sent nothing by [`SILENT_GRACE`] after `accepted`: it has nothing in flight. Once bytes
/// have come, the packet is read to the end.
async fn first_frame<IO: AsyncRead + AsyncWrite + Unpin>(
    reader: &mut Reader<IO>,
    shutdown: &mut Shutdown,
    accepted: Instant,
) -> Result<Option<ServerFrame>, uwsgi_codec::codec::Error> {
    tokio::select! {
        biased;
        frame = reader.next() => return frame,
        () = shut_down(shutdown) => {}
    }
    if !reader.has_buffered() {
        // The reader keeps what it read when the timeout drops its future.
        if let Ok(frame) = timeout_at(accepted + SILENT_GRACE, reader.next()).await {
            return frame;
        }
        if !reader.has_buffered() {
            tracing::debug!("shutting down: closing a connection that has sent nothing");
            return Ok(None);
        }
    }
    reader.next().await
}

/// Serves the one request (or ping) of a connection, then closes it.
pub(crate) async fn run<IO, S, M>(
    io: IO,
    front_end: Option<SocketAddr>,
    service: S,
    config: Arc<ServerConfig>,
    mut shutdown: Shutdown,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: HttpService<M>,
{
    let (read, mut writer) = tokio::io::split(io);
    let parser = Parser::new().with_max_datasize(config.max_head);
    let codec = ServerCodec::with_parser(parser).with_max_body(Some(config.max_body));
    let mut reader = FrameReader::new(read, codec);

    let accepted = Instant::now();
    let deadline = accepted + config.head_timeout;
    let first = first_frame(&mut reader, &mut shutdown, accepted);
    let packet = match timeout_at(deadline, first).await {
        Ok(Ok(Some(ServerFrame::Packet(packet)))) => packet,
        Ok(Ok(_)) => return, // closed before sending a byte, or shutting down before one came
        Ok(Err(err)) => {
            let (status, hint) = (status_for(&err), err.hint());
            return refuse(
                &mut reader,
                &mut writer,
                front_end,
                &config,
                status,
                &err,
                hint,
            )
            .await;
        }
        Err(_) => {
            if reader.has_buffered() {
                let why = format!(
                    "no complete request packet within the head deadline ({:?})",
                    config.head_timeout
                );
                let hint = "a front end sends the whole packet at once: a stalled or hostile peer";
                refuse(
                    &mut reader,
                    &mut writer,
                    front_end,
                    &config,
                    None,
                    &why,
                    hint,
                )
                .await;
            }
            return;
        }
    };
    // Boxed: an idle connection (waiting for its packet) holds only the small future above.
    let connection = Connection {
        reader,
        writer,
        front_end,
        config,
    };
    Box::pin(connection.serve(packet, service)).await;
}

/// A connection whose request packet has arrived.
struct Connection<IO> {
    reader: Reader<IO>,
    writer: WriteHalf<IO>,
    front_end: Option<SocketAddr>,
    config: Arc<ServerConfig>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// Answers the packet: a pong, a refusal, or the service's response.
    async fn serve<S: HttpService<M>, M>(self, packet: Packet, mut service: S) {
        let Connection {
            mut reader,
            mut writer,
            front_end,
            config,
        } = self;
        let (modifier1, modifier2) = (packet.modifier1(), packet.modifier2());
        if modifier1 == Modifier1::PING && modifier2 == 0 {
            let pong = PacketBuilder::pong().to_vec().unwrap_or_default();
            let _ = write_all(&mut writer, &mut pong.as_slice(), config.write_timeout).await;
            let _ = writer.shutdown().await;
            return;
        }
        let request = match request(&packet, front_end, &config) {
            Ok(request) => request,
            Err((status, why)) => {
                let hint = "the front end sent vars that do not make an HTTP request";
                return refuse(
                    &mut reader,
                    &mut writer,
                    front_end,
                    &config,
                    Some(status),
                    &why,
                    hint,
                )
                .await;
            }
        };
        let head_request = request.method() == Method::HEAD;
        let (body, sender) = body(&mut reader, packet.body_len().unwrap_or(0));
        let request = request.map(|()| body);

        let done = Notify::new();
        let respond = async {
            let result = respond(&mut service, request, &mut writer, head_request, &config).await;
            done.notify_one();
            result
        };
        let pumped = async {
            match sender {
                Some(sender) => pump(&mut reader, sender, &done, config.body_idle_timeout).await,
                None => Pumped::Complete,
            }
        };
        let (pumped, responded) = tokio::join!(pumped, respond);
        if let Pumped::Failed(why) = pumped {
            tracing::info!(front_end = ?front_end, "request body cut short: {why}");
        }
        if responded {
            // Closing the connection (dropping it) ends the response; a flush is all a stream
            // with its own buffer needs, and a TCP socket spares the shutdown call.
            let _ = timeout(config.write_timeout, writer.flush()).await;
        }
    }
}

/// The request head, its extensions set: the service sees the packet's request and facts.
fn request(
    packet: &Packet,
    front_end: Option<SocketAddr>,
    config: &ServerConfig,
) -> Result<Request<()>, (StatusCode, String)> {
    let (modifier1, modifier2) = (packet.modifier1(), packet.modifier2());
    let vars = match packet.vars() {
        Some(vars) if modifier1.is_request_family(modifier2) => vars,
        _ => {
            let why = format!("modifier1 {modifier1}, modifier2 {modifier2} is not served");
            return Err((StatusCode::NOT_IMPLEMENTED, why));
        }
    };
    let parts = convert::request_parts(&vars, &config.request)
        .map_err(|err| (StatusCode::BAD_REQUEST, err.to_string()))?;
    let peer = PeerInfo::from_vars(&vars, front_end);
    let mut request = Request::from_parts(parts, ());
    request.extensions_mut().insert(peer);
    request.extensions_mut().insert(packet.clone());
    Ok(request)
}

/// The request body: whole when it came with the packet, else streamed.
fn body<IO: AsyncRead>(reader: &mut Reader<IO>, len: u64) -> (RequestBody, Option<BodySender>) {
    match reader.buffered_body(len) {
        Some(whole) => (RequestBody::whole(whole), None),
        None => {
            let (body, sender) = RequestBody::stream(len);
            (body, Some(sender))
        }
    }
}

/// Calls the service and writes its answer (a 500 when it fails); `true` when the response
/// went out whole.
async fn respond<IO, S, M>(
    service: &mut S,
    request: Request<RequestBody>,
    writer: &mut WriteHalf<IO>,
    head_request: bool,
    config: &ServerConfig,
) -> bool
where
    IO: AsyncWrite,
    S: HttpService<M>,
{
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = match service.serve(request).await.map_err(Into::into) {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(%method, %uri, status = 500, "the service failed: {err}");
            let mut page = super::reject::error_page(StatusCode::INTERNAL_SERVER_ERROR);
            return write_all(writer, &mut page, config.write_timeout)
                .await
                .is_ok();
        }
    };
    match write_response(writer, response, head_request, config.write_timeout).await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%method, %uri, "response cut short: {err}");
            false
        }
    }
}
