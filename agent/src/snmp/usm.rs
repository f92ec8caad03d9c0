//! User-based Security Model primitives: password to key and key
//! localization (RFC 3414 section 2.6 and appendix A.2, RFC 7860 section
//! 9.3), HMAC authentication (RFC 3414 sections 6 and 7, RFC 7860 section 4),
//! CBC-DES (RFC 3414 section 8), CFB128-AES (RFC 3826; AES-192/256 with the
//! key extension of draft-blumenthal-aes-usm-04 section 3.1.2.1 that net-snmp
//! uses for `-x AES-192/AES-256`) and the KeyChange TC (RFC 3414 section 5).
//!
//! Every primitive is a RustCrypto crate. Keys here are localized keys; none
//! is ever logged.

use aes::cipher::{AsyncStreamCipher, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Mac, SimpleHmac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use vpn_core::security::{AuthProto, PrivProto};

/// Length of the digest of an authentication protocol's hash (= key length).
pub fn key_len(a: AuthProto) -> usize {
    match a {
        AuthProto::None => 0,
        AuthProto::Md5 => 16,
        AuthProto::Sha1 => 20,
        AuthProto::Sha224 => 28,
        AuthProto::Sha256 => 32,
        AuthProto::Sha384 => 48,
        AuthProto::Sha512 => 64,
    }
}

/// Length of msgAuthenticationParameters (the truncated HMAC).
pub fn mac_len(a: AuthProto) -> usize {
    match a {
        AuthProto::None => 0,
        AuthProto::Md5 | AuthProto::Sha1 => 12,
        AuthProto::Sha224 => 16,
        AuthProto::Sha256 => 24,
        AuthProto::Sha384 => 32,
        AuthProto::Sha512 => 48,
    }
}

/// Key octets a privacy protocol uses (DES: 8 key + 8 pre-IV).
pub fn priv_key_len(p: PrivProto) -> usize {
    match p {
        PrivProto::None => 0,
        PrivProto::Des | PrivProto::Aes128 => 16,
        PrivProto::Aes192 | PrivProto::Aes192Reeder => 24,
        PrivProto::Aes256 | PrivProto::Aes256Reeder => 32,
    }
}

fn digest_parts<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = D::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// H(parts...) with the hash of `a`.
pub fn hash(a: AuthProto, parts: &[&[u8]]) -> Vec<u8> {
    match a {
        AuthProto::None => Vec::new(),
        AuthProto::Md5 => digest_parts::<Md5>(parts),
        AuthProto::Sha1 => digest_parts::<Sha1>(parts),
        AuthProto::Sha224 => digest_parts::<Sha224>(parts),
        AuthProto::Sha256 => digest_parts::<Sha256>(parts),
        AuthProto::Sha384 => digest_parts::<Sha384>(parts),
        AuthProto::Sha512 => digest_parts::<Sha512>(parts),
    }
}

fn p2k<D: Digest>(password: &[u8]) -> Vec<u8> {
    // RFC 3414 A.2.1: hash 1 MB (1048576 octets) of the repeated password.
    let mut h = D::new();
    let mut chunk = [0u8; 64];
    let mut idx = 0usize;
    for _ in 0..(1_048_576 / 64) {
        for c in chunk.iter_mut() {
            *c = password[idx % password.len()];
            idx += 1;
        }
        h.update(chunk);
    }
    h.finalize().to_vec()
}

/// Ku: the password-to-key algorithm (RFC 3414 A.2, RFC 7860 9.3). An empty
/// password gives no key.
pub fn password_to_key(a: AuthProto, password: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    match a {
        AuthProto::None => Vec::new(),
        AuthProto::Md5 => p2k::<Md5>(password),
        AuthProto::Sha1 => p2k::<Sha1>(password),
        AuthProto::Sha224 => p2k::<Sha224>(password),
        AuthProto::Sha256 => p2k::<Sha256>(password),
        AuthProto::Sha384 => p2k::<Sha384>(password),
        AuthProto::Sha512 => p2k::<Sha512>(password),
    }
}

/// Kul = H(Ku || engineID || Ku) (RFC 3414 section 2.6).
pub fn localize(a: AuthProto, ku: &[u8], engine_id: &[u8]) -> Vec<u8> {
    hash(a, &[ku, engine_id, ku])
}

/// The localized authentication key of a password.
pub fn auth_key(a: AuthProto, password: &[u8], engine_id: &[u8]) -> Vec<u8> {
    localize(a, &password_to_key(a, password), engine_id)
}

/// Lengthen a localized privacy key to what its cipher needs, then keep only
/// that much.
pub fn extend_priv_key(a: AuthProto, p: PrivProto, mut kul: Vec<u8>, engine_id: &[u8]) -> Vec<u8> {
    let need = priv_key_len(p);
    while kul.len() < need && !kul.is_empty() {
        match p {
            // draft-blumenthal-aes-usm-04 3.1.2.1: Kul = Kul || H(Kul).
            PrivProto::Aes192 | PrivProto::Aes256 => {
                let h = hash(a, &[&kul]);
                kul.extend_from_slice(&h);
            }
            // Reeder (the 3DES draft's method, Cisco's AES-192/256):
            // Kul = Kul || localize(Ku(Kul)).
            _ => {
                let more = localize(a, &password_to_key(a, &kul), engine_id);
                kul.extend_from_slice(&more);
            }
        }
    }
    kul.truncate(need);
    kul
}

/// The localized privacy key of a password (localized with the auth hash,
/// RFC 3414 section 2.6, then extended or truncated for the cipher).
pub fn priv_key(a: AuthProto, p: PrivProto, password: &[u8], engine_id: &[u8]) -> Vec<u8> {
    extend_priv_key(a, p, auth_key(a, password, engine_id), engine_id)
}

/// New key from a KeyChange value (RFC 3414 section 5): `value` is random ||
/// delta, each as long as the key; `None` when its length is wrong.
pub fn key_change(a: AuthProto, old: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let l = old.len();
    if l == 0 || value.len() != 2 * l || a == AuthProto::None {
        return None;
    }
    let (random, delta) = value.split_at(l);
    let mut new = Vec::with_capacity(l);
    let mut temp = old.to_vec();
    while new.len() < l {
        temp = hash(a, &[&temp, random]);
        for &t in &temp {
            if new.len() == l {
                break;
            }
            new.push(t ^ delta[new.len()]);
        }
    }
    Some(new)
}

fn mac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m =
        <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// The truncated HMAC of `msg` (RFC 3414 6.3.1/7.3.1, RFC 7860 4.2.1).
pub fn hmac(a: AuthProto, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut full = match a {
        AuthProto::None => return Vec::new(),
        AuthProto::Md5 => mac_of::<SimpleHmac<Md5>>(key, msg),
        AuthProto::Sha1 => mac_of::<SimpleHmac<Sha1>>(key, msg),
        AuthProto::Sha224 => mac_of::<SimpleHmac<Sha224>>(key, msg),
        AuthProto::Sha256 => mac_of::<SimpleHmac<Sha256>>(key, msg),
        AuthProto::Sha384 => mac_of::<SimpleHmac<Sha384>>(key, msg),
        AuthProto::Sha512 => mac_of::<SimpleHmac<Sha512>>(key, msg),
    };
    full.truncate(mac_len(a));
    full
}

/// Compare MACs without an early exit.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// AES-CFB128 IV (RFC 3826 3.1.2.1): boots || time || salt.
fn aes_iv(boots: u32, time: u32, salt: &[u8; 8]) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..4].copy_from_slice(&boots.to_be_bytes());
    iv[4..8].copy_from_slice(&time.to_be_bytes());
    iv[8..].copy_from_slice(salt);
    iv
}

fn cfb<C>(key: &[u8], iv: &[u8; 16], buf: &mut [u8], enc: bool) -> Option<()>
where
    C: aes::cipher::BlockEncrypt + aes::cipher::BlockCipher + aes::cipher::KeyInit,
{
    if enc {
        cfb_mode::Encryptor::<C>::new_from_slices(key, iv)
            .ok()?
            .encrypt(buf);
    } else {
        cfb_mode::Decryptor::<C>::new_from_slices(key, iv)
            .ok()?
            .decrypt(buf);
    }
    Some(())
}

fn aes_apply(p: PrivProto, key: &[u8], iv: &[u8; 16], buf: &mut [u8], enc: bool) -> Option<()> {
    let n = priv_key_len(p);
    let key = key.get(..n)?;
    match n {
        16 => cfb::<aes::Aes128>(key, iv, buf, enc),
        24 => cfb::<aes::Aes192>(key, iv, buf, enc),
        _ => cfb::<aes::Aes256>(key, iv, buf, enc),
    }
}

/// Encrypt a serialized scopedPDU. `salt` is this engine's counter for the
/// message; returns (encryptedPDU, msgPrivacyParameters).
pub fn encrypt(
    p: PrivProto,
    key: &[u8],
    boots: u32,
    time: u32,
    salt: u64,
    plain: &[u8],
) -> Option<(Vec<u8>, Vec<u8>)> {
    match p {
        PrivProto::None => None,
        PrivProto::Des => {
            // RFC 3414 8.1.1.1: salt = boots || local counter; IV = pre-IV ^ salt.
            let k = key.get(..16)?;
            let mut salt_b = [0u8; 8];
            salt_b[..4].copy_from_slice(&boots.to_be_bytes());
            salt_b[4..].copy_from_slice(&(salt as u32).to_be_bytes());
            let mut iv = [0u8; 8];
            for i in 0..8 {
                iv[i] = k[8 + i] ^ salt_b[i];
            }
            let mut buf = plain.to_vec();
            // Pad to a whole number of blocks (the receiver ignores it).
            buf.resize(plain.len().div_ceil(8) * 8, 0);
            let n = buf.len();
            cbc::Encryptor::<des::Des>::new_from_slices(&k[..8], &iv)
                .ok()?
                .encrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut buf, n)
                .ok()?;
            Some((buf, salt_b.to_vec()))
        }
        _ => {
            let s = salt.to_be_bytes();
            let mut buf = plain.to_vec();
            aes_apply(p, key, &aes_iv(boots, time, &s), &mut buf, true)?;
            Some((buf, s.to_vec()))
        }
    }
}

/// Decrypt an encryptedPDU with the msgPrivacyParameters and the message's
/// msgAuthoritativeEngineBoots/Time; `None` is a decryption error.
pub fn decrypt(
    p: PrivProto,
    key: &[u8],
    boots: u32,
    time: u32,
    params: &[u8],
    cipher: &[u8],
) -> Option<Vec<u8>> {
    let salt: &[u8; 8] = params.try_into().ok()?;
    match p {
        PrivProto::None => None,
        PrivProto::Des => {
            // RFC 3414 8.3.2 step 2: a length that is not a multiple of 8 is an error.
            if !cipher.len().is_multiple_of(8) || cipher.is_empty() {
                return None;
            }
            let k = key.get(..16)?;
            let mut iv = [0u8; 8];
            for i in 0..8 {
                iv[i] = k[8 + i] ^ salt[i];
            }
            let mut buf = cipher.to_vec();
            cbc::Decryptor::<des::Des>::new_from_slices(&k[..8], &iv)
                .ok()?
                .decrypt_padded_mut::<aes::cipher::block_padding::NoPadding>(&mut buf)
                .ok()?;
            Some(buf)
        }
        _ => {
            let mut buf = cipher.to_vec();
            aes_apply(p, key, &aes_iv(boots, time, salt), &mut buf, false)?;
            Some(buf)
        }
    }
}

// ---------------------------------------------------------------------------
// Users from the configuration file
// ---------------------------------------------------------------------------

/// A `[[usm_user]]` entry of the configuration file. Keys are given as
/// passwords (localized here, then forgotten) or as localized keys in hex.
#[derive(serde::Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct UserConf {
    pub name: String,
    /// MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 or none.
    pub auth: Option<String>,
    pub auth_password: Option<String>,
    /// Localized key, hex.
    pub auth_key: Option<String>,
    /// DES, AES, AES-192, AES-256, AES-192-C, AES-256-C (Cisco's key
    /// extension) or none.
    #[serde(rename = "priv")]
    pub privacy: Option<String>,
    pub priv_password: Option<String>,
    /// Localized key, hex.
    pub priv_key: Option<String>,
    /// Put the user in this VACM group (vacmSecurityToGroupTable, model usm).
    pub group: Option<String>,
}

pub fn parse_auth(s: &str) -> Option<AuthProto> {
    Some(match s.to_ascii_uppercase().as_str() {
        "NONE" => AuthProto::None,
        "MD5" => AuthProto::Md5,
        "SHA" | "SHA1" | "SHA-1" => AuthProto::Sha1,
        "SHA-224" | "SHA224" => AuthProto::Sha224,
        "SHA-256" | "SHA256" => AuthProto::Sha256,
        "SHA-384" | "SHA384" => AuthProto::Sha384,
        "SHA-512" | "SHA512" => AuthProto::Sha512,
        _ => return None,
    })
}

pub fn parse_priv(s: &str) -> Option<PrivProto> {
    Some(match s.to_ascii_uppercase().as_str() {
        "NONE" => PrivProto::None,
        "DES" => PrivProto::Des,
        "AES" | "AES-128" | "AES128" => PrivProto::Aes128,
        "AES-192" | "AES192" => PrivProto::Aes192,
        "AES-256" | "AES256" => PrivProto::Aes256,
        "AES-192-C" | "AES192C" => PrivProto::Aes192Reeder,
        "AES-256-C" | "AES256C" => PrivProto::Aes256Reeder,
        _ => return None,
    })
}

/// Octets from hex ("0x" prefix, spaces and colons allowed).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !matches!(c, ' ' | ':'))
        .collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl UserConf {
    /// Check what can be checked without an engine ID.
    pub fn check(&self) -> Result<(), String> {
        let who = &self.name;
        if self.name.is_empty() || self.name.len() > 32 {
            return Err(format!("usm_user {who:?}: the name must be 1..32 octets"));
        }
        let auth = parse_auth(self.auth.as_deref().unwrap_or("none"))
            .ok_or_else(|| format!("usm_user {who:?}: unknown auth protocol {:?}", self.auth))?;
        let privp = parse_priv(self.privacy.as_deref().unwrap_or("none"))
            .ok_or_else(|| format!("usm_user {who:?}: unknown priv protocol {:?}", self.privacy))?;
        if privp != PrivProto::None && auth == AuthProto::None {
            return Err(format!("usm_user {who:?}: privacy needs authentication"));
        }
        for (what, pw, key, on) in [
            (
                "auth",
                &self.auth_password,
                &self.auth_key,
                auth != AuthProto::None,
            ),
            (
                "priv",
                &self.priv_password,
                &self.priv_key,
                privp != PrivProto::None,
            ),
        ] {
            match (pw, key, on) {
                (Some(_), Some(_), _) => {
                    return Err(format!(
                        "usm_user {who:?}: give {what}_password or {what}_key, not both"
                    ))
                }
                (None, None, true) => {
                    return Err(format!(
                        "usm_user {who:?}: {what}_password or {what}_key is required"
                    ))
                }
                (Some(_), None, false) | (None, Some(_), false) => {
                    return Err(format!(
                        "usm_user {who:?}: {what} key material without a {what} protocol"
                    ))
                }
                // RFC 3414 11.2: at least 8 characters (net-snmp refuses fewer).
                (Some(p), None, true) if p.len() < 8 => {
                    return Err(format!(
                        "usm_user {who:?}: {what}_password must be at least 8 characters"
                    ))
                }
                (None, Some(k), true) if parse_hex(k).is_none() => {
                    return Err(format!("usm_user {who:?}: {what}_key is not hex"))
                }
                _ => {}
            }
        }
        if let Some(k) = self.auth_key.as_deref().and_then(parse_hex) {
            if k.len() != key_len(auth) {
                return Err(format!(
                    "usm_user {who:?}: auth_key must be {} octets",
                    key_len(auth)
                ));
            }
        }
        if let Some(k) = self.priv_key.as_deref().and_then(parse_hex) {
            if k.len() < priv_key_len(privp).min(key_len(auth)) {
                return Err(format!("usm_user {who:?}: priv_key is too short"));
            }
        }
        if let Some(g) = &self.group {
            if g.is_empty() || g.len() > 32 {
                return Err(format!("usm_user {who:?}: group must be 1..32 octets"));
            }
        }
        Ok(())
    }

    /// The user's row for engine `engine_id` (keys localized to it), as a
    /// permanent row, with the digest of what the file says in `origin`.
    pub fn row(&self, engine_id: &[u8]) -> vpn_core::security::UserRow {
        let auth = parse_auth(self.auth.as_deref().unwrap_or("none")).unwrap_or(AuthProto::None);
        let privp =
            parse_priv(self.privacy.as_deref().unwrap_or("none")).unwrap_or(PrivProto::None);
        let auth_key = match (&self.auth_password, &self.auth_key) {
            (_, Some(k)) => parse_hex(k).unwrap_or_default(),
            (Some(p), None) => auth_key(auth, p.as_bytes(), engine_id),
            (None, None) => Vec::new(),
        };
        let priv_key = match (privp, &self.priv_password, &self.priv_key) {
            (PrivProto::None, _, _) => Vec::new(),
            (_, _, Some(k)) => {
                extend_priv_key(auth, privp, parse_hex(k).unwrap_or_default(), engine_id)
            }
            (_, Some(p), None) => priv_key(auth, privp, p.as_bytes(), engine_id),
            (_, None, None) => Vec::new(),
        };
        let origin = hash(
            AuthProto::Sha256,
            &[
                &[auth as u8, privp as u8],
                &(auth_key.len() as u32).to_be_bytes(),
                &auth_key,
                &priv_key,
                engine_id,
            ],
        );
        let mut r =
            vpn_core::security::UserRow::new(self.name.as_bytes(), vpn_core::Storage::Permanent);
        r.auth = auth;
        r.auth_key = auth_key;
        r.privp = privp;
        r.priv_key = priv_key;
        r.cloned = true;
        r.state = vpn_core::RowState::Active;
        r.origin = origin;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const ENGINE: &str = "000000000000000000000002";

    /// RFC 3414 appendix A.3.1.
    #[test]
    fn rfc3414_a31_md5() {
        let ku = password_to_key(AuthProto::Md5, b"maplesyrup");
        assert_eq!(ku, hex("9faf3283884e92834ebc9847d8edd963"));
        assert_eq!(
            localize(AuthProto::Md5, &ku, &hex(ENGINE)),
            hex("526f5eed9fcce26f8964c2930787d82b")
        );
    }

    /// RFC 3414 appendix A.3.2.
    #[test]
    fn rfc3414_a32_sha() {
        let ku = password_to_key(AuthProto::Sha1, b"maplesyrup");
        assert_eq!(ku, hex("9fb5cc0381497b3793528939ff788d5d79145211"));
        assert_eq!(
            localize(AuthProto::Sha1, &ku, &hex(ENGINE)),
            hex("6695febc9288e36282235fc7151f128497b38f3f")
        );
    }

    /// RFC 3414 appendix A.5.1: KeyChange of an MD5 key from "maplesyrup" to
    /// "newsyrup" with the given random component.
    #[test]
    fn rfc3414_a51_keychange_md5() {
        let old = auth_key(AuthProto::Md5, b"maplesyrup", &hex(ENGINE));
        let new = auth_key(AuthProto::Md5, b"newsyrup", &hex(ENGINE));
        assert_eq!(new, hex("87021d7bd9d101ba05ea6e3bf9d9bd4a"));
        let random = [0u8; 16];
        let delta =
            hex("00000000000000000000000000000000 88 05 61 51 41 67 6c c9 19 61 74 e7 42 a3 25 51");
        assert_eq!(&delta[..16], &random[..]);
        assert_eq!(key_change(AuthProto::Md5, &old, &delta).unwrap(), new);
    }

    /// RFC 3414 appendix A.5.2: the same for SHA.
    #[test]
    fn rfc3414_a52_keychange_sha() {
        let old = auth_key(AuthProto::Sha1, b"maplesyrup", &hex(ENGINE));
        let new = auth_key(AuthProto::Sha1, b"newsyrup", &hex(ENGINE));
        assert_eq!(new, hex("78e2dcce79d59403b58c1bbaa5bff46391f1cd25"));
        let mut value = vec![0u8; 20];
        value.extend(hex("9c1017f4fd483d2de8d5fadbf84392cb06457051"));
        assert_eq!(key_change(AuthProto::Sha1, &old, &value).unwrap(), new);
    }

    #[test]
    fn keychange_longer_than_digest() {
        // AES-256 key (32 octets) with MD5 (16-octet digest): two rounds.
        let old: Vec<u8> = (0..32).collect();
        let new: Vec<u8> = (100..132).collect();
        let random: Vec<u8> = (7..39).collect();
        let mut temp = old.clone();
        let mut delta = Vec::new();
        while delta.len() < 32 {
            temp = hash(AuthProto::Md5, &[&temp, &random]);
            for &t in &temp {
                if delta.len() < 32 {
                    delta.push(t ^ new[delta.len()]);
                }
            }
        }
        let mut v = random.clone();
        v.extend(delta);
        assert_eq!(key_change(AuthProto::Md5, &old, &v).unwrap(), new);
        assert_eq!(key_change(AuthProto::Md5, &old, &v[1..]), None);
    }

    #[test]
    fn ciphers_round_trip() {
        let engine = hex(ENGINE);
        let msg: Vec<u8> = (0..77u8).collect();
        for p in [
            PrivProto::Des,
            PrivProto::Aes128,
            PrivProto::Aes192,
            PrivProto::Aes256,
            PrivProto::Aes256Reeder,
        ] {
            for a in [AuthProto::Md5, AuthProto::Sha1, AuthProto::Sha512] {
                let k = priv_key(a, p, b"privpass123", &engine);
                assert_eq!(k.len(), priv_key_len(p));
                let (c, params) = encrypt(p, &k, 5, 77, 0x0102030405060708, &msg).unwrap();
                assert_ne!(&c[..16], &msg[..16]);
                let back = decrypt(p, &k, 5, 77, &params, &c).unwrap();
                assert_eq!(&back[..msg.len()], &msg[..], "{p:?} {a:?}");
            }
        }
        // DES: a ciphertext that is not whole blocks is a decryption error.
        let k = priv_key(AuthProto::Md5, PrivProto::Des, b"privpass123", &engine);
        assert!(decrypt(PrivProto::Des, &k, 1, 1, &[0; 8], &[0; 9]).is_none());
        assert!(decrypt(PrivProto::Aes128, &k, 1, 1, &[0; 7], &[0; 9]).is_none());
    }

    #[test]
    fn mac_lengths() {
        for (a, n) in [
            (AuthProto::Md5, 12),
            (AuthProto::Sha1, 12),
            (AuthProto::Sha224, 16),
            (AuthProto::Sha256, 24),
            (AuthProto::Sha384, 32),
            (AuthProto::Sha512, 48),
        ] {
            let k = auth_key(a, b"authpass123", b"\x80\x00\x7e\xd9\x05abcdefgh");
            assert_eq!(k.len(), key_len(a));
            assert_eq!(hmac(a, &k, b"hello").len(), n);
        }
    }
}
