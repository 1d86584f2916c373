//! A model of the upstreams the agent's path check defends against, independent of the check
//! itself: the property tests and the fuzz target compare the two.

/// What an upstream that decodes once, treats `\\` as `/` and drops `;parameters` would
/// make of `rest`: how deep below the base path it lands (negative: above it).
pub(crate) fn lowest_depth_after_decoding(rest: &str) -> i32 {
    let bytes = rest.as_bytes();
    let mut decoded = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[at],
            bytes.get(at + 1).copied().and_then(hex),
            bytes.get(at + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                at += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    let decoded = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let (mut depth, mut lowest) = (0, 0);
    for segment in decoded.split('/') {
        match segment.split(';').next().unwrap_or("") {
            ".." => depth -= 1,
            "." | "" => {}
            _ => depth += 1,
        }
        lowest = lowest.min(depth);
    }
    lowest
}
