//! What the header's modifier bytes mean: [`Modifier1`] names, and the [`PacketKind`] that
//! decides how a block is read and whether a body follows (PROTOCOL.md §2.4 and §3).

/// The packet type byte (header byte 0). Opaque: every value is kept as it is, named or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Modifier1(pub u8);

macro_rules! modifiers {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal, $label:literal;)*) => {
        impl Modifier1 {
            $($(#[doc = $doc])* pub const $name: Modifier1 = Modifier1($value);)*

            /// The human name of a value PROTOCOL.md §3 lists, `None` for an unlisted one.
            ///
            /// ```
            /// use uwsgi_codec::Modifier1;
            /// assert_eq!(Modifier1::RPC.name(), Some("RPC"));
            /// assert_eq!(Modifier1(120).name(), None);
            /// ```
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($label),)*
                    _ => None,
                }
            }
        }
    };
}

modifiers! {
    /// WSGI (Python); what nginx sends by default.
    WSGI = 0, "WSGI";
    /// Reserved.
    RESERVED_1 = 1, "reserved";
    /// Reserved.
    RESERVED_2 = 2, "reserved";
    /// Reserved.
    RESERVED_3 = 3, "reserved";
    /// PSGI (Perl).
    PSGI = 5, "PSGI";
    /// Lua / WSAPI.
    LUA = 6, "Lua WSAPI";
    /// Rack (Ruby).
    RACK = 7, "Rack";
    /// JVM (modifier2 0 JWSGI, 1 Ring).
    JVM = 8, "JVM";
    /// CGI.
    CGI = 9, "CGI";
    /// Management flag (documented as possibly broken).
    MANAGE = 10, "management";
    /// gccgo.
    GCCGO = 11, "gccgo";
    /// PHP.
    PHP = 14, "PHP";
    /// Mono (ASP.NET).
    MONO = 15, "Mono";
    /// Spooler enqueue: a vars block of spool arguments, no body.
    SPOOLER = 17, "spooler";
    /// symcall.
    SYMCALL = 18, "symcall";
    /// Server-side includes.
    SSI = 19, "SSI";
    /// Raw code eval (no handler; a TLS ClientHello lands here).
    EVAL = 22, "eval";
    /// XSLT.
    XSLT = 23, "XSLT";
    /// V8 (JavaScript).
    V8 = 24, "V8";
    /// GridFS.
    GRIDFS = 25, "GridFS";
    /// GlusterFS (the code registers it at 27; the docs say 26).
    GLUSTERFS = 27, "GlusterFS";
    /// Rados.
    RADOS = 28, "Rados";
    /// WSGI with SCRIPT_NAME stripped from PATH_INFO.
    WSGI_MANAGE_PATH_INFO = 30, "WSGI (SCRIPT_NAME stripped)";
    /// Message.
    MESSAGE = 31, "message";
    /// Message array.
    MESSAGE_ARRAY = 32, "message array";
    /// Marshalled message.
    MESSAGE_MARSHAL = 33, "marshal";
    /// WebDAV.
    WEBDAV = 35, "WebDAV";
    /// "SNMP": really the BER SEQUENCE tag 0x30 on uWSGI's master UDP socket.
    SNMP = 48, "SNMP";
    /// "Raw HTTP response" (`H`); nothing checks it.
    RAW_HTTP = 72, "raw HTTP";
    /// Multicast announce.
    MULTICAST_ANNOUNCE = 73, "multicast announce";
    /// Multicast message.
    MULTICAST = 74, "multicast";
    /// Cluster management.
    CLUSTER = 95, "cluster";
    /// Remote logging.
    REMOTE_LOG = 96, "remote log";
    /// Graceful reload.
    RELOAD = 97, "reload";
    /// Brutal reload.
    RELOAD_BRUTAL = 98, "brutal reload";
    /// Ping (modifier2 0) and pong (modifier2 1).
    PING = 100, "ping";
    /// Echo: the payload comes back raw, with no header.
    ECHO = 101, "echo";
    /// Legion (UDP, encrypted).
    LEGION = 109, "legion";
    /// Signal (modifier2 is the signal number).
    SIGNAL = 110, "signal";
    /// Cache (modifier2 is the command).
    CACHE = 111, "cache";
    /// Emperor config push to a vassal.
    EMPEROR = 115, "emperor";
    /// Corerouter flag.
    COREROUTER = 123, "corerouter";
    /// RPC (modifier2 0 framed reply, 1 raw reply, 2 to 4 request families, 5 dict + body reply).
    RPC = 173, "RPC";
    /// Persistent-connection close mark.
    CLOSE = 200, "close mark";
    /// Subscription (datagram).
    SUBSCRIPTION = 224, "subscription";
    /// Example / C++ plugins.
    EXAMPLE = 250, "example plugin";
    /// Generic reply (signal, spooler).
    RESPONSE = 255, "generic reply";
}

impl Modifier1 {
    /// Whether this is a request family (R in PROTOCOL.md §3): vars block, `CONTENT_LENGTH`
    /// body, raw HTTP reply. Unlisted values are request families: a front end configured with
    /// `uwsgi_modifier1 N` sends vars and a body.
    #[inline(always)]
    pub fn is_request_family(self, modifier2: u8) -> bool {
        match self {
            Modifier1::RPC => (2..=4).contains(&modifier2),
            Modifier1(m1) => {
                let word = NOT_REQUEST_FAMILY.get(usize::from(m1 >> 6)).copied();
                word.unwrap_or(0) & (1 << (m1 & 63)) == 0
            }
        }
    }
}

/// The listed modifier1 values that are not request families (PROTOCOL.md §3), one bit each:
/// a packet's kind costs one load. 99 is missing on purpose: §3 does not list it, and §11
/// case 9 reads an unlisted modifier1 as a request family.
// Indexing in a const item is checked when the crate compiles: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
pub(crate) const NOT_REQUEST_FAMILY: [u64; 4] = {
    let listed: &[u8] = &[
        1, 2, 3, 10, 17, 22, 31, 32, 33, 48, 72, 73, 74, 95, 96, 97, 98, 100, 101, 109, 110, 111,
        115, 123, 173, 200, 224, 255,
    ];
    let mut bits = [0u64; 4];
    let mut i = 0;
    while i < listed.len() {
        let m1 = listed[i] as usize;
        bits[m1 >> 6] |= 1 << (m1 & 63);
        i += 1;
    }
    bits
};

impl Modifier1 {
    /// Whether the reply to a request with this modifier1 and `modifier2` is a uwsgi packet
    /// (pong, RPC modifier2 0 and 5, signal and spooler status, cache), rather than raw bytes
    /// until the connection ends (the HTTP response to a request family, the echo payload, an
    /// RPC modifier2 1 value): PROTOCOL.md §2.5.
    ///
    /// ```
    /// use uwsgi_codec::Modifier1;
    ///
    /// assert!(Modifier1::PING.framed_reply(0));
    /// assert!(!Modifier1::WSGI.framed_reply(0));
    /// assert!(!Modifier1::RPC.framed_reply(1));
    /// ```
    pub fn framed_reply(self, modifier2: u8) -> bool {
        match (self, modifier2) {
            (Modifier1::ECHO, _) | (Modifier1::RPC, 1) => false,
            (Modifier1::RPC, 5) => true,
            (m1, m2) => !m1.is_request_family(m2),
        }
    }
}

impl From<u8> for Modifier1 {
    fn from(value: u8) -> Self {
        Modifier1(value)
    }
}

impl core::fmt::Display for Modifier1 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{} (unlisted: request family)", self.0),
        }
    }
}

/// How a packet's block is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Key/value pairs (PROTOCOL.md §2.2), validated by rules V1 to V10.
    Vars,
    /// Length-prefixed items (RPC, cache; §2.3), validated by rules A1 and A2.
    Array,
    /// Opaque bytes (ping payload, echo, signal, cache key, replies); not validated (A3).
    Raw,
}

impl BlockKind {
    /// The kind's name in lower case, as the test vectors spell it.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Vars => "vars",
            BlockKind::Array => "array",
            BlockKind::Raw => "raw",
        }
    }
}

/// What follows the packet on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyFraming {
    /// Nothing: the packet is the whole message.
    None,
    /// A body of exactly `CONTENT_LENGTH` bytes (request families, RPC modifier2 5 replies).
    ContentLength,
    /// A body of exactly `size` bytes (cache modifier2 17, "magic").
    CacheSize,
}

impl BodyFraming {
    /// The var whose value gives the body length, if there is one.
    #[inline]
    pub fn length_key(self) -> Option<&'static [u8]> {
        match self {
            BodyFraming::None => None,
            BodyFraming::ContentLength => Some(b"CONTENT_LENGTH"),
            BodyFraming::CacheSize => Some(b"size"),
        }
    }
}

/// Which way a packet travels: the same header bytes mean different shapes in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Front end to application server (what nginx sends).
    #[default]
    Request,
    /// Application server to front end (pong, RPC and cache replies, generic replies).
    Reply,
}

/// How a packet is read: its block kind and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketKind {
    /// How the block is read.
    pub block: BlockKind,
    /// What follows the packet.
    pub body: BodyFraming,
}

impl PacketKind {
    /// A vars block followed by a `CONTENT_LENGTH` body: the request families.
    pub const REQUEST: PacketKind = PacketKind::new(BlockKind::Vars, BodyFraming::ContentLength);
    /// A raw block and nothing after it.
    pub const RAW: PacketKind = PacketKind::new(BlockKind::Raw, BodyFraming::None);

    /// A kind from its parts.
    pub const fn new(block: BlockKind, body: BodyFraming) -> Self {
        PacketKind { block, body }
    }

    /// The default kind of a packet with these modifiers travelling in this direction
    /// (PROTOCOL.md §2.4 and §3 rule 2).
    ///
    /// ```
    /// use uwsgi_codec::{BlockKind, Direction, Modifier1, PacketKind};
    ///
    /// let rpc = PacketKind::of(Modifier1::RPC, 0, Direction::Request);
    /// assert_eq!(rpc.block, BlockKind::Array);
    /// assert_eq!(PacketKind::of(Modifier1::RPC, 0, Direction::Reply).block, BlockKind::Raw);
    /// assert_eq!(PacketKind::of(Modifier1::WSGI, 0, Direction::Request), PacketKind::REQUEST);
    /// ```
    #[inline(always)]
    pub fn of(modifier1: Modifier1, modifier2: u8, direction: Direction) -> PacketKind {
        if direction == Direction::Request && modifier1.is_request_family(modifier2) {
            return PacketKind::REQUEST;
        }
        let vars_then = |body| PacketKind::new(BlockKind::Vars, body);
        let array = PacketKind::new(BlockKind::Array, BodyFraming::None);
        match (direction, modifier1, modifier2) {
            (_, Modifier1::CACHE, 17) => vars_then(BodyFraming::CacheSize),
            (_, Modifier1::RPC, 5) => vars_then(BodyFraming::ContentLength),
            (Direction::Reply, _, _) => PacketKind::RAW,
            (Direction::Request, Modifier1::SPOOLER | Modifier1::SUBSCRIPTION, _) => {
                vars_then(BodyFraming::None)
            }
            (Direction::Request, Modifier1::CACHE, 1 | 10 | 11) => array,
            (Direction::Request, Modifier1::CACHE, 3 | 4) => vars_then(BodyFraming::None),
            (Direction::Request, Modifier1::RPC, 0 | 1) => array,
            (Direction::Request, _, _) => PacketKind::RAW,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(m1: u8, m2: u8, direction: Direction) -> PacketKind {
        PacketKind::of(Modifier1(m1), m2, direction)
    }

    #[test]
    fn every_unlisted_modifier_is_a_request_family() {
        for m1 in 0..=255u8 {
            if Modifier1(m1).name().is_none() {
                assert_eq!(
                    kind(m1, 0, Direction::Request),
                    PacketKind::REQUEST,
                    "m1 {m1}"
                );
            }
        }
    }

    #[test]
    fn the_bitmap_matches_the_names() {
        // Every named value is listed in §3; all but the request-family handlers and 99 are
        // not request families.
        let handlers = [
            0, 5, 6, 7, 8, 9, 11, 14, 15, 18, 19, 23, 24, 25, 27, 28, 30, 35, 250,
        ];
        for m1 in 0..=255u8 {
            let named_service = Modifier1(m1).name().is_some() && !handlers.contains(&m1);
            assert_eq!(
                Modifier1(m1).is_request_family(0),
                !named_service,
                "m1 {m1}"
            );
        }
    }

    #[test]
    fn service_packets_follow_the_table() {
        use BlockKind::*;
        let cases = [
            (100, 0, Raw, BodyFraming::None),
            (101, 0, Raw, BodyFraming::None),
            (110, 17, Raw, BodyFraming::None),
            (17, 0, Vars, BodyFraming::None),
            (111, 0, Raw, BodyFraming::None),
            (111, 1, Array, BodyFraming::None),
            (111, 3, Vars, BodyFraming::None),
            (111, 10, Array, BodyFraming::None),
            (111, 17, Vars, BodyFraming::CacheSize),
            (173, 0, Array, BodyFraming::None),
            (173, 2, Vars, BodyFraming::ContentLength),
            (173, 5, Vars, BodyFraming::ContentLength),
            (173, 9, Raw, BodyFraming::None),
            (224, 0, Vars, BodyFraming::None),
            (72, 0, Raw, BodyFraming::None),
            (250, 0, Vars, BodyFraming::ContentLength),
        ];
        for (m1, m2, block, body) in cases {
            assert_eq!(
                kind(m1, m2, Direction::Request),
                PacketKind::new(block, body),
                "{m1}/{m2}"
            );
        }
    }

    #[test]
    fn replies_are_raw_but_for_the_two_dict_shapes() {
        assert_eq!(kind(173, 0, Direction::Reply), PacketKind::RAW);
        assert_eq!(kind(100, 1, Direction::Reply), PacketKind::RAW);
        assert_eq!(kind(0, 0, Direction::Reply), PacketKind::RAW);
        assert_eq!(
            kind(173, 5, Direction::Reply).body,
            BodyFraming::ContentLength
        );
        assert_eq!(kind(111, 17, Direction::Reply).body, BodyFraming::CacheSize);
    }
}
