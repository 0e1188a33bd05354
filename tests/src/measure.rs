//! Small helpers of the measuring binaries in src/bin: counts from their command lines and the
//! fingerprint that checks a benchmark's edits landed as intended.

/// A positive count from the command line (`20_000` is allowed), or why not.
pub fn parse_count(name: &str, text: &str) -> Result<usize, String> {
    match text.replace('_', "").parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!(
            "{name} wants a positive whole number, not {text:?}"
        )),
    }
}

/// A 64-bit FNV-1a hash of a text given in pieces (a rope's chunks, say): the bare benchmark
/// server logs it on shutdown so that the benchmark can check the edits landed as intended.
pub fn text_fingerprint<'a>(pieces: impl IntoIterator<Item = &'a str>) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for piece in pieces {
        for byte in piece.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}
