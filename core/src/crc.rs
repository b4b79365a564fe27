//! CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), the checksum of zlib, PNG and
//! Ethernet. Used by the model file and the host↔device frames.
//!
//! Computed by the [`crc`](https://docs.rs/crc) crate's CRC-32/ISO-HDLC: by default its
//! table implementation (one 256-entry table built at compile time, 1 KiB of flash, a byte
//! per lookup, as the hand-written table this module held before); with the `small-crc`
//! feature its `NoTable` one (a bit per step, no table: the firmware's choice, where a frame
//! is at most 304 bytes and flash is the budget). Both give the same values; the check value
//! of the catalogue (`"123456789"` → `0xCBF43926`, Greg Cook's "Catalogue of parametrised CRC
//! algorithms") is a unit test.

/// The algorithm (and its table), in flash.
#[cfg(not(feature = "small-crc"))]
static ISO_HDLC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
/// The algorithm, computed bit by bit.
#[cfg(feature = "small-crc")]
static ISO_HDLC: crc::Crc<u32, crc::NoTable> =
    crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// An incremental CRC-32 computation.
///
/// ```
/// use mlprobe_core::crc::Crc32;
/// let mut crc = Crc32::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.finish(), 0xCBF4_3926);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    /// The checksum of the bytes fed so far.
    value: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A fresh computation.
    pub const fn new() -> Self {
        Self { value: 0 }
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        // Carries on from the checksum so far, as zlib's `crc32(crc, buf)`: for this reflected
        // algorithm the crate's register starts as the given initial value bit-reversed, and a
        // checksum is the register XOR `xorout`. (Not the crate's `Digest`, which holds a
        // reference to its `Crc`: the encoder keeps it in memory between calls, so the
        // algorithm's parameters were read at run time and both bit orders compiled in.)
        let register = self.value ^ ISO_HDLC.algorithm.xorout;
        let mut digest = ISO_HDLC.digest_with_initial(register.reverse_bits());
        digest.update(bytes);
        self.value = digest.finalize();
    }

    /// The checksum of everything fed so far.
    pub const fn finish(&self) -> u32 {
        self.value
    }
}

/// CRC-32 of one buffer.
pub fn crc32(bytes: &[u8]) -> u32 {
    ISO_HDLC.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_value() {
        // CRC-32/ISO-HDLC check value from the CRC catalogue.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog") == 0x414FA339
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    /// The definition, one bit at a time (the reflected shift register): the crate must give
    /// its values for every length, whole or fed in parts.
    fn reference(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        c ^ 0xFFFF_FFFF
    }

    #[test]
    fn same_values_as_the_bitwise_definition_and_incrementally() {
        let data: crate::StdVec<u8> = (0..600u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in [0, 1, 2, 3, 4, 5, 15, 16, 17, 255, 256, 600] {
            let bytes = &data[..len];
            assert_eq!(crc32(bytes), reference(bytes), "len {len}");
            let mut c = Crc32::new();
            let (a, b) = bytes.split_at(len / 3);
            c.update(a);
            c.update(b);
            assert_eq!(c.finish(), reference(bytes), "split, len {len}");
        }
    }
}
