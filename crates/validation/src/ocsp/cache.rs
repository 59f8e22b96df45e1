//! Pre-signed responses for RFC 5019's hot path: a nonce-less request for one certificate is
//! answered with bytes signed earlier, so answering is a hash lookup and a clone of an `Arc`.
//!
//! Keys: an entry is filed under its serial and matched on the whole CertID DER. The CertID
//! covers (issuer, serial) and also the hash algorithm and its parameter encoding, each of
//! which needs its own response because the CertID is echoed exactly; filing under the serial
//! lets a revocation drop every variant at once ([`ResponseCache::invalidate`]).
//!
//! Concurrency: 16 shards, each a `std::sync::RwLock<HashMap>`, picked by a keyed hash of the
//! serial, so readers never contend with each other and writers only with their shard.
//! Bounded: past `max_entries` an insert evicts an arbitrary entry of its shard (the map's
//! iteration order, which is randomly keyed); a miss only costs a signature.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};

use time::OffsetDateTime;

use super::request::{CertId, normalize_serial};

const SHARDS: usize = 16;

/// A cached response and when it stops being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The DER OCSPResponse.
    pub der: Arc<[u8]>,
    /// Its nextUpdate: from then on it is a miss.
    pub next_update: OffsetDateTime,
}

struct Entry {
    cert_id_der: Box<[u8]>,
    response: CachedResponse,
}

#[derive(Default)]
struct Shard {
    /// serial → the responses for that serial (usually one; one per CertID variant).
    by_serial: HashMap<Vec<u8>, Vec<Entry>>,
    entries: usize,
}

/// Pre-signed OCSP responses by CertID, thread-safe.
pub struct ResponseCache {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
    per_shard_limit: usize,
}

impl fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseCache")
            .field("len", &self.len())
            .field("max_entries", &(self.per_shard_limit * SHARDS))
            .finish()
    }
}

impl Default for ResponseCache {
    /// Room for a million responses (about 1 GB at 1 KiB each at most).
    fn default() -> Self {
        Self::new(1 << 20)
    }
}

impl ResponseCache {
    /// A cache holding at most about `max_entries` responses (rounded up to a multiple of the
    /// shard count).
    pub fn new(max_entries: usize) -> Self {
        ResponseCache {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            per_shard_limit: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, serial: &[u8]) -> &RwLock<Shard> {
        let h = self.hasher.hash_one(serial);
        // The remainder is below SHARDS, so it fits any usize.
        let i = usize::try_from(h % SHARDS as u64).unwrap_or(0);
        &self.shards[i]
    }

    /// The response for `id` if one is cached and `now` is before its nextUpdate.
    pub fn get(&self, id: &CertId, now: OffsetDateTime) -> Option<Arc<[u8]>> {
        self.lookup(id, now).map(|c| c.der)
    }

    /// Like [`ResponseCache::get`], with the nextUpdate (for HTTP caching headers, RFC 5019 §6).
    pub fn lookup(&self, id: &CertId, now: OffsetDateTime) -> Option<CachedResponse> {
        let shard = self
            .shard(id.serial())
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entries = shard.by_serial.get(id.serial())?;
        let entry = entries.iter().find(|e| *e.cert_id_der == *id.der())?;
        (now < entry.response.next_update).then(|| entry.response.clone())
    }

    /// Cache `response` for `id` until `next_update`, replacing what was there.
    pub fn insert(&self, id: &CertId, response: Arc<[u8]>, next_update: OffsetDateTime) {
        let mut shard = self
            .shard(id.serial())
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let cached = CachedResponse {
            der: response,
            next_update,
        };
        if let Some(entries) = shard.by_serial.get_mut(id.serial())
            && let Some(e) = entries.iter_mut().find(|e| *e.cert_id_der == *id.der())
        {
            e.response = cached;
            return;
        }
        if shard.entries >= self.per_shard_limit {
            let victim = shard.by_serial.keys().next().cloned();
            if let Some(victim) = victim
                && let Some(dropped) = shard.by_serial.remove(&victim)
            {
                shard.entries -= dropped.len();
            }
        }
        shard
            .by_serial
            .entry(id.serial().to_vec())
            .or_default()
            .push(Entry {
                cert_id_der: id.der().into(),
                response: cached,
            });
        shard.entries += 1;
    }

    /// Drop every response for `serial` (big-endian; leading zeros ignored), under every
    /// issuer and CertID variant. Returns how many were dropped.
    pub fn invalidate(&self, serial: &[u8]) -> usize {
        let serial = normalize_serial(serial);
        let mut shard = self
            .shard(serial)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let dropped = shard.by_serial.remove(serial).map_or(0, |v| v.len());
        shard.entries -= dropped;
        dropped
    }

    /// Drop every response whose nextUpdate is at or before `now`. Returns how many.
    pub fn purge_expired(&self, now: OffsetDateTime) -> usize {
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            let before = shard.entries;
            shard.by_serial.retain(|_, entries| {
                entries.retain(|e| now < e.response.next_update);
                !entries.is_empty()
            });
            shard.entries = shard.by_serial.values().map(Vec::len).sum();
            dropped += before - shard.entries;
        }
        dropped
    }

    /// Drop everything (after the responder certificate changed, say).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            shard.by_serial.clear();
            shard.entries = 0;
        }
    }

    /// How many responses are cached (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).entries)
            .sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
