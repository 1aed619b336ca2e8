//! Parse what nginx sends: a real `uwsgi_pass` capture, read the way a server reads it.
//!
//! `cargo run --example parse [FILE]` (default: the bundled capture of a GET through nginx).

use uwsgi_codec::{Escaped, PacketRef, Parser, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/captures/nginx-get.bin");
    let wire = std::fs::read(std::env::args().nth(1).as_deref().unwrap_or(bundled))?;

    // A server keeps one parser and parses every packet in place: one walk of the block,
    // which both validates it and indexes its pairs.
    let parser = Parser::new();
    let mut packet = PacketRef::empty();
    let len = match parser.parse_into(&wire, &mut packet)? {
        Status::Complete(len) => len,
        Status::Incomplete(n) => return Err(format!("{n} more bytes needed").into()),
    };

    println!(
        "modifier1 {}, datasize {}, {len} bytes",
        packet.modifier1(),
        packet.datasize()
    );
    let vars = packet.vars().ok_or("not a vars packet")?;
    for (key, value) in vars {
        println!("  {} = {}", Escaped(key), Escaped(value));
    }
    // The few vars a server routes on, found in one pass over the index.
    let [method, path] = vars.get_many([b"REQUEST_METHOD", b"PATH_INFO"]);
    println!(
        "{} {}",
        Escaped(method.unwrap_or_default()),
        Escaped(path.unwrap_or_default())
    );
    println!("body: {} bytes follow the packet", packet.body_len()?);
    Ok(())
}
