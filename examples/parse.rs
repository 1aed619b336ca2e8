//! Parse what nginx sends: a real `uwsgi_pass` capture, read the way a server reads it.
//!
//! `cargo run --example parse [FILE]` (default: the bundled capture of a GET through nginx).

use uwsgi_codec::{EMPTY_PAIR, Escaped, MAX_PAIRS, Parser, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/captures/nginx-get.bin");
    let wire = std::fs::read(std::env::args().nth(1).as_deref().unwrap_or(bundled))?;

    // A server keeps one parser, and pair storage per connection. One walk of the block
    // validates it and writes its pairs into the storage; this storage holds any packet.
    let parser = Parser::new();
    let mut storage = vec![EMPTY_PAIR; MAX_PAIRS];
    let packet = match parser.parse_pairs(&wire, &mut storage)? {
        Status::Complete(packet) => packet,
        Status::Incomplete(n) => return Err(format!("{n} more bytes needed").into()),
    };

    println!(
        "modifier1 {}, datasize {}, {} bytes",
        packet.modifier1(),
        packet.datasize(),
        packet.wire_len()
    );
    for (key, value) in packet.pairs() {
        println!("  {} = {}", Escaped(key), Escaped(value));
    }
    // The vars a server routes on.
    let [method, path] = ["REQUEST_METHOD", "PATH_INFO"].map(|key| packet.get(key));
    println!(
        "{} {}",
        Escaped(method.unwrap_or_default()),
        Escaped(path.unwrap_or_default())
    );
    println!("body: {} bytes follow the packet", packet.body_len()?);
    Ok(())
}
