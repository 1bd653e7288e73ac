//! The failed-secret limit (DESIGN.md §13): after 10 failed logins, bearer or webhook tokens in
//! 15 minutes, an address gets 429 until its oldest failure is 15 minutes old.
//!
//! The record is per-process security state, not trading state, so it lives in memory: a
//! database write per failed attempt would let a guesser hold the single SQLite writer. It is
//! bounded: at most [`MAX_ADDRESSES`] addresses of at most 10 instants each, the least recently
//! failing dropped first, so an attacker rotating addresses cannot grow it. IPv6 addresses
//! count by /64, the block one host is usually given. The address is the TCP peer's: behind a
//! reverse proxy every client shares the proxy's address (forwarded headers are not trusted, as
//! any client can send them).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed in one window; the next attempt is refused.
pub const MAX_FAILURES: usize = 10;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at most.
pub const MAX_ADDRESSES: usize = 10_000;

/// Whom a failure (or a connection, see `connections`) is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    V4(u32),
    /// The /64 prefix.
    V6(u64),
}

impl From<IpAddr> for Client {
    fn from(addr: IpAddr) -> Client {
        match addr {
            IpAddr::V4(v4) => Client::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.into()),
                None => Client::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Failures of this address in the window, this one included.
    pub failures: usize,
    /// Whether this failure locked the address out.
    pub locked: bool,
}

#[derive(Debug)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<Client, VecDeque<Instant>>>,
    max_failures: usize,
    window: Duration,
    capacity: usize,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES, WINDOW, MAX_ADDRESSES)
    }
}

impl FailureLimiter {
    pub fn new(max_failures: usize, window: Duration, capacity: usize) -> FailureLimiter {
        FailureLimiter {
            failures: Mutex::new(HashMap::new()),
            max_failures: max_failures.max(1),
            window,
            capacity: capacity.max(1),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Client, VecDeque<Instant>>> {
        // The table holds no invariant a panic could break halfway.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn is_recent(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) < self.window
    }

    /// `Err(wait)` while `addr` is locked out: `wait` is the time until its oldest failure in
    /// the window ages out, at least one second.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut table = self.table();
        let Some(times) = table.get_mut(&Client::from(addr)) else {
            return Ok(());
        };
        while times.front().is_some_and(|at| !self.is_recent(*at, now)) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.max_failures => {
                let wait = self
                    .window
                    .saturating_sub(now.saturating_duration_since(*oldest));
                Err(wait.max(Duration::from_secs(1)))
            }
            _ => Ok(()),
        }
    }

    /// Count a failed attempt of `addr` at `now`.
    pub fn record_failure(&self, addr: IpAddr, now: Instant) -> Recorded {
        let client = Client::from(addr);
        let mut table = self.table();
        if !table.contains_key(&client) && table.len() >= self.capacity {
            self.make_room(&mut table, now);
        }
        let times = table.entry(client).or_default();
        while times.front().is_some_and(|at| !self.is_recent(*at, now)) {
            times.pop_front();
        }
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
        Recorded {
            failures: times.len(),
            locked: times.len() >= self.max_failures,
        }
    }

    /// Drop every address without a recent failure; if the table is still full, the quarter
    /// whose latest failure is oldest.
    fn make_room(&self, table: &mut HashMap<Client, VecDeque<Instant>>, now: Instant) {
        table.retain(|_, times| times.back().is_some_and(|at| self.is_recent(*at, now)));
        if table.len() < self.capacity {
            return;
        }
        let mut latest: Vec<(Instant, Client)> = table
            .iter()
            .filter_map(|(client, times)| times.back().map(|at| (*at, *client)))
            .collect();
        let evict = (latest.len() / 4).max(1);
        latest.select_nth_unstable_by_key(evict - 1, |(at, _)| *at);
        for (_, client) in &latest[..evict] {
            table.remove(client);
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.table().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn the_eleventh_attempt_in_the_window_is_refused_until_the_oldest_failure_ages_out() {
        let limiter = FailureLimiter::default();
        let start = Instant::now();
        for i in 0..9 {
            let at = start + Duration::from_secs(i);
            assert!(limiter.check(v4(1), at).is_ok());
            assert!(!limiter.record_failure(v4(1), at).locked);
        }
        let tenth = start + Duration::from_secs(9);
        assert_eq!(
            limiter.record_failure(v4(1), tenth),
            Recorded {
                failures: 10,
                locked: true
            }
        );
        let wait = limiter.check(v4(1), tenth).unwrap_err();
        assert_eq!(wait, WINDOW - Duration::from_secs(9));
        assert!(
            limiter.check(v4(2), tenth).is_ok(),
            "other addresses are not"
        );
        let almost = start + WINDOW - Duration::from_millis(1);
        assert_eq!(limiter.check(v4(1), almost), Err(Duration::from_secs(1)));
        let after = start + WINDOW;
        assert!(limiter.check(v4(1), after).is_ok(), "the window passed");
        assert_eq!(limiter.record_failure(v4(1), after).failures, 10);
        assert!(
            limiter.check(v4(1), after).is_err(),
            "nine failures still count"
        );
    }

    #[test]
    fn ipv6_counts_by_64_block_and_mapped_ipv4_as_ipv4() {
        let limiter = FailureLimiter::new(2, WINDOW, 100);
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limiter.record_failure(a, now);
        limiter.record_failure(b, now);
        assert!(limiter.check(a, now).is_err());
        assert!(limiter.check(other, now).is_ok());
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        limiter.record_failure(mapped, now);
        limiter.record_failure(v4(7), now);
        assert!(limiter.check(v4(7), now).is_err());
        assert!(limiter.check(IpAddr::V6(Ipv6Addr::LOCALHOST), now).is_ok());
    }

    #[test]
    fn rotating_addresses_cannot_grow_the_table() {
        let limiter = FailureLimiter::new(10, WINDOW, 1_000);
        let now = Instant::now();
        for i in 0..50_000u32 {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limiter.record_failure(addr, now + Duration::from_millis(u64::from(i)));
            assert!(limiter.tracked() <= 1_000);
        }
        let latest = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 49_999));
        assert_eq!(limiter.record_failure(latest, now + WINDOW / 2).failures, 2);
    }

    #[test]
    fn expired_addresses_are_dropped_first() {
        let limiter = FailureLimiter::new(10, WINDOW, 2);
        let start = Instant::now();
        for _ in 0..10 {
            limiter.record_failure(v4(1), start + WINDOW / 2);
        }
        limiter.record_failure(v4(2), start);
        let later = start + WINDOW + Duration::from_secs(1);
        limiter.record_failure(v4(3), later);
        assert_eq!(limiter.tracked(), 2);
        assert!(
            limiter.check(v4(1), later).is_err(),
            "the locked address was kept"
        );
    }
}
