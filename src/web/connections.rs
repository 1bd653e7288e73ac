//! Open connections per client address. The server keeps at most `MAX_CONNECTIONS` open (see
//! `app`); one address may hold at most [`PER_CLIENT`] of them. Without it a single client that
//! opens connections and says nothing, or trickles its heads, fills every slot again as fast as
//! the head timeout frees them, and every other client (a TradingView alert, say, which waits a
//! few seconds at most) queues in the listen backlog behind it. A connection over the limit is
//! shut down as soon as it is accepted, before a byte of it is read, so it frees its slot at
//! once.
//!
//! Addresses count as in the failure limiter ([`Client`]: IPv4, IPv6 by /64). Behind a reverse
//! proxy every client shares the proxy's address, and so its share. The table holds only
//! addresses with open connections, so it is bounded by them.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::dev::Extensions;

use super::limiter::Client;

/// Connections one address may hold at once: room for every event stream
/// (`SIGNALDESK_MAX_EVENT_STREAMS` 64) and as many requests again, twice over.
pub const PER_CLIENT: usize = 192;

#[derive(Debug, Default)]
struct Open {
    connections: usize,
    /// Whether a refusal was logged since this address last held no connection.
    logged: bool,
}

/// The open connections of every client address.
#[derive(Debug)]
pub struct ConnectionCounts {
    open: Mutex<HashMap<Client, Open>>,
    per_client: usize,
}

/// One admitted connection; its count is released when it is dropped (the connection ended).
#[derive(Debug)]
pub struct ConnectionGuard {
    counts: Arc<ConnectionCounts>,
    client: Client,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.counts.table();
        if let Some(entry) = open.get_mut(&self.client) {
            entry.connections = entry.connections.saturating_sub(1);
            if entry.connections == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Why a connection was refused: whether this is the first refusal of its address since it
/// last held no connection (the one worth logging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub first: bool,
}

impl ConnectionCounts {
    pub fn new(per_client: usize) -> Arc<ConnectionCounts> {
        Arc::new(ConnectionCounts {
            open: Mutex::new(HashMap::new()),
            per_client: per_client.max(1),
        })
    }

    fn table(&self) -> MutexGuard<'_, HashMap<Client, Open>> {
        // Plain counters: a panic cannot leave them half-updated.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count a new connection of `addr`, unless that address holds `per_client` already.
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<ConnectionGuard, Refused> {
        let client = Client::from(addr);
        let mut open = self.table();
        let entry = open.entry(client).or_default();
        if entry.connections >= self.per_client {
            let first = !entry.logged;
            entry.logged = true;
            return Err(Refused { first });
        }
        entry.connections += 1;
        Ok(ConnectionGuard {
            counts: Arc::clone(self),
            client,
        })
    }

    /// Connections `addr` holds now.
    pub fn open(&self, addr: IpAddr) -> usize {
        self.table()
            .get(&Client::from(addr))
            .map_or(0, |entry| entry.connections)
    }
}

/// The server's connect hook: admit the new TCP connection `io` (its guard lives in the
/// connection's data, so it is released when the connection ends) or shut it down unread.
pub fn on_connect(counts: &Arc<ConnectionCounts>, io: &dyn Any, data: &mut Extensions) {
    let Some(stream) = io.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    match counts.admit(peer.ip()) {
        Ok(guard) => {
            data.insert(guard);
        }
        Err(refused) => {
            if refused.first {
                log::warn!(
                    "{} holds {PER_CLIENT} connections: refusing more from it until some close",
                    peer.ip()
                );
            }
            // The dispatcher then reads the end of the stream and drops the connection.
            let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_until_some_close() {
        let counts = ConnectionCounts::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = counts.admit(a).unwrap();
        let _second = counts.admit(a).unwrap();
        assert_eq!(counts.admit(a).unwrap_err(), Refused { first: true });
        assert_eq!(
            counts.admit(a).unwrap_err(),
            Refused { first: false },
            "logged once"
        );
        assert!(
            counts.admit("192.0.2.2".parse().unwrap()).is_ok(),
            "others are not"
        );
        drop(first);
        assert_eq!(counts.open(a), 1);
        let _third = counts
            .admit(a)
            .expect("a closed connection frees its place");
    }

    #[test]
    fn ipv6_counts_by_64_block_and_closed_addresses_are_forgotten() {
        let counts = ConnectionCounts::new(1);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        let guard = counts.admit(a).unwrap();
        assert!(counts.admit(b).is_err(), "one /64");
        drop(guard);
        assert_eq!(counts.table().len(), 0, "no entry without connections");
        assert!(counts.admit(b).is_ok());
    }
}
