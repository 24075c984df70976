//! Request ids: the client's `X-Request-Id` when it is sane, else a new
//! one from a per-process prefix and a counter.

use std::sync::atomic::{AtomicU64, Ordering};

use http::header::*;

/// Request ids: the client's `X-Request-Id` when it is sane, else a new one.
pub(super) struct RequestIds {
    prefix: u32,
    counter: AtomicU64,
}

impl RequestIds {
    pub(super) fn new() -> RequestIds {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or_default();
        RequestIds {
            prefix: seed ^ std::process::id().rotate_left(16),
            counter: AtomicU64::new(0),
        }
    }

    pub(super) fn for_request(&self, given: Option<&HeaderValue>) -> String {
        if let Some(given) = given.and_then(|v| v.to_str().ok()) {
            let sane = !given.is_empty()
                && given.len() <= 128
                && given.bytes().all(|b| b.is_ascii_graphic());
            if sane {
                return given.to_owned();
            }
        }
        // `{prefix:08x}-{n:012x}`, without the formatting machinery.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [b'-'; 21];
        hex_digits(&mut id[..8], u64::from(self.prefix));
        hex_digits(&mut id[9..], n);
        // Always ASCII, so never the empty default.
        std::str::from_utf8(&id)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// The low hex digits of `value`, zero-padded, as many as `out` holds.
pub(super) fn hex_digits(out: &mut [u8], mut value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for digit in out.iter_mut().rev() {
        *digit = HEX[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_request_id_is_the_prefix_and_a_counter_in_hex() {
        let ids = RequestIds {
            prefix: 0x0a1b_2c3d,
            counter: AtomicU64::new(0xfe),
        };
        assert_eq!(ids.for_request(None), "0a1b2c3d-0000000000fe");
        assert_eq!(ids.for_request(None), "0a1b2c3d-0000000000ff");
        let sane = HeaderValue::from_static("from-the-client");
        assert_eq!(ids.for_request(Some(&sane)), "from-the-client");
        let blank = HeaderValue::from_static("");
        assert_eq!(ids.for_request(Some(&blank)), "0a1b2c3d-000000000100");
    }
}
