//! Error control for the watermark message: a CRC-16 that tells a real message from noise and
//! the rate-1/2 convolutional code of constraint length 7 (generators 133 and 171 octal, the
//! CCSDS / IEEE 802.11 code) decoded with a soft-decision Viterbi decoder.

use super::layout::{MESSAGE_BITS, PAYLOAD_BITS};
use super::PayloadFormat;

/// Constraint length of the convolutional code.
const K: usize = 7;
/// Number of encoder states.
const STATES: usize = 1 << (K - 1);
/// Generator polynomials (octal 133, 171), newest bit in the most significant position.
const GENERATORS: [u32; 2] = [0o133, 0o171];
/// Coded bits per input bit.
pub const RATE_INV: usize = GENERATORS.len();
/// Zero bits appended to flush the encoder back to state 0.
pub const TAIL: usize = K - 1;

/// CRC-16/CCITT-FALSE (polynomial 0x1021, init 0xFFFF, no reflection) of a bit sequence.
pub fn crc16_bits(bits: impl IntoIterator<Item = u8>) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for bit in bits {
        let top = (crc >> 15) & 1;
        crc <<= 1;
        if top ^ (bit as u16 & 1) == 1 {
            crc ^= 0x1021;
        }
    }
    crc
}

/// [`crc16_bits`] of the low `bits` bits of `value`, most significant first.
pub fn crc16(value: u64, bits: usize) -> u16 {
    crc16_bits((0..bits).rev().map(|i| ((value >> i) & 1) as u8))
}

fn parity(x: u32) -> u8 {
    (x.count_ones() & 1) as u8
}

/// The three output bits for input `bit` entering an encoder in `state` (the previous K - 1
/// bits, newest in bit K - 2).
fn outputs(state: usize, bit: u8) -> [u8; RATE_INV] {
    let register = ((bit as u32) << (K - 1)) | state as u32;
    GENERATORS.map(|g| parity(register & g))
}

fn next_state(state: usize, bit: u8) -> usize {
    ((bit as usize) << (K - 2)) | (state >> 1)
}

/// Encodes `bits` (each 0 or 1) followed by the zero tail: `(bits.len() + TAIL) * 2` bits.
pub fn encode(bits: &[u8]) -> Vec<u8> {
    let mut state = 0usize;
    let mut out = Vec::with_capacity((bits.len() + TAIL) * RATE_INV);
    for &bit in bits.iter().chain(std::iter::repeat_n(&0u8, TAIL)) {
        out.extend_from_slice(&outputs(state, bit));
        state = next_state(state, bit);
    }
    out
}

/// Maximum-likelihood decoding of `soft` values (positive means bit 1, magnitude is
/// confidence; 0 is an erasure) into `n_bits` message bits, for an encoder that started and
/// ended in state 0.
pub fn viterbi(soft: &[f32], n_bits: usize) -> Vec<u8> {
    let steps = n_bits + TAIL;
    assert_eq!(
        soft.len(),
        steps * RATE_INV,
        "soft values for {steps} steps expected"
    );
    let mut metric = vec![f32::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    // survivors[t][s]: the input bit and previous state that reached state s at step t + 1.
    let mut survivors = vec![[(0u8, 0u8); STATES]; steps];
    let mut next = vec![f32::NEG_INFINITY; STATES];
    for (t, symbols) in soft.chunks_exact(RATE_INV).enumerate() {
        next.fill(f32::NEG_INFINITY);
        let inputs: &[u8] = if t < n_bits { &[0, 1] } else { &[0] };
        for (state, &m) in metric.iter().enumerate() {
            if m == f32::NEG_INFINITY {
                continue;
            }
            for &bit in inputs {
                let branch: f32 = outputs(state, bit)
                    .iter()
                    .zip(symbols)
                    .map(|(&b, &s)| if b == 1 { s } else { -s })
                    .sum();
                let to = next_state(state, bit);
                if m + branch > next[to] {
                    next[to] = m + branch;
                    survivors[t][to] = (bit, state as u8);
                }
            }
        }
        std::mem::swap(&mut metric, &mut next);
    }
    let mut state = 0usize;
    let mut bits = vec![0u8; steps];
    for t in (0..steps).rev() {
        let (bit, prev) = survivors[t][state];
        bits[t] = bit;
        state = prev as usize;
    }
    bits.truncate(n_bits);
    bits
}

/// The CRC's final XOR of each payload format: the format travels in the check value, at
/// no cost in message bits (a random message passes either check with probability 2^-16).
fn crc_xor(format: PayloadFormat) -> u16 {
    match format {
        PayloadFormat::V1 => 0x0000,
        PayloadFormat::V2 => 0xFFFF,
    }
}

/// The message bits of a 48-bit payload: the payload, most significant bit first, then its
/// CRC-16 (XORed with the format's constant).
pub fn message_bits(payload: u64, format: PayloadFormat) -> Vec<u8> {
    let check = crc16(payload, PAYLOAD_BITS) ^ crc_xor(format);
    let message = (payload << 16) | check as u64;
    (0..MESSAGE_BITS)
        .rev()
        .map(|i| ((message >> i) & 1) as u8)
        .collect()
}

/// The payload that [`message_bits`] framed, and the format whose CRC holds (None when
/// neither does).
pub fn read_message(bits: &[u8]) -> (u64, Option<PayloadFormat>) {
    let message = bits.iter().fold(0u64, |m, &b| (m << 1) | b as u64);
    let payload = message >> 16;
    let check = crc16(payload, PAYLOAD_BITS) ^ (message & 0xFFFF) as u16;
    let format = [PayloadFormat::V2, PayloadFormat::V1]
        .into_iter()
        .find(|&f| check == crc_xor(f));
    (payload, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_ccitt_false_check_value() {
        // The catalogued check value of CRC-16/CCITT-FALSE over "123456789" is 0x29B1.
        let bits = b"123456789"
            .iter()
            .flat_map(|byte| (0..8).rev().map(move |i| (byte >> i) & 1));
        assert_eq!(crc16_bits(bits), 0x29B1);
        let v = u64::from_be_bytes(*b"12345678");
        assert_eq!(
            crc16(v, 64),
            crc16_bits(
                b"12345678"
                    .iter()
                    .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
            )
        );
        assert_ne!(crc16(v, 64), crc16(v ^ 1, 64));
    }

    #[test]
    fn messages_read_back_and_a_flipped_bit_fails_the_crc() {
        for format in [PayloadFormat::V1, PayloadFormat::V2] {
            let bits = message_bits(0x0123_4567_89ab, format);
            assert_eq!(bits.len(), MESSAGE_BITS);
            assert_eq!(read_message(&bits), (0x0123_4567_89ab, Some(format)));
            let mut flipped = bits.clone();
            flipped[MESSAGE_BITS - 1] ^= 1;
            assert_eq!(read_message(&flipped).1, None);
        }
        // The two formats frame the same payload differently.
        assert_ne!(
            message_bits(7, PayloadFormat::V1),
            message_bits(7, PayloadFormat::V2)
        );
    }

    #[test]
    fn viterbi_corrects_errors_and_erasures() {
        let bits: Vec<u8> = (0..64).map(|i| ((i * 7 + 3) % 5 % 2) as u8).collect();
        let coded = encode(&bits);
        assert_eq!(coded.len(), (64 + TAIL) * RATE_INV);
        let mut soft: Vec<f32> = coded
            .iter()
            .map(|&b| if b == 1 { 1.0 } else { -1.0 })
            .collect();
        // Flip every 17th symbol and erase every 19th.
        for i in (0..soft.len()).step_by(17) {
            soft[i] = -soft[i];
        }
        for i in (5..soft.len()).step_by(19) {
            soft[i] = 0.0;
        }
        assert_eq!(viterbi(&soft, 64), bits);
    }
}
