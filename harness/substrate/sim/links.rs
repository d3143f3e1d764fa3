//! The simulated network's links: their latency, and the faults that silence them.
//!
//! turmoil delivers a message at the first tick after its delay, so the tick is the latency
//! resolution. A silenced link behaves as a lost path does on a real network: nothing
//! arrives, nobody sees a FIN or RST, a dial waits for its timeout, and TCP keeps what it sent
//! to retransmit it. turmoil can *hold* a link (both directions); a one-way silence holds the
//! link and forwards the open direction here, at its latency. SYNs in the open direction stay
//! held: their SYN-ACK could not come back, so the dial waits as on a real network. When a link
//! heals, new connections flow at once, and what the old ones held arrives at TCP's next
//! retransmission ([`retransmission_after`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use turmoil::{Protocol, Segment};

/// The one-way delay turmoil will actually apply: rounded up to whole ticks, at least one.
pub fn effective_delay(delay: Duration, tick: Duration) -> Duration {
    let tick_ns = tick.as_nanos().max(1);
    let ticks = delay.as_nanos().div_ceil(tick_ns).max(1);
    // Scenario delays are at most a minute and ticks at least a millisecond (validation), so
    // this fits; saturate rather than wrap if it ever did not.
    tick.checked_mul(u32::try_from(ticks).unwrap_or(u32::MAX))
        .unwrap_or(Duration::MAX)
}

/// Linux's floor of the retransmission timeout (TCP_RTO_MIN) and its ceiling (TCP_RTO_MAX).
const RTO_MIN: Duration = Duration::from_millis(200);
const RTO_MAX: Duration = Duration::from_secs(120);

/// How long after a link was silenced the next retransmission of a segment sent when it
/// went silent happens, if the silence lasted `silenced_for`: Linux retransmits after the
/// RTO (about the round trip plus 200 ms), doubling it each time up to 120 s. After a 45 s
/// partition of a 70 ms link that is at 68.9 s: 23.9 s after the heal.
pub fn retransmission_after(silenced_for: Duration, rtt: Duration) -> Duration {
    let mut rto = (rtt + RTO_MIN).min(RTO_MAX);
    let mut at = Duration::ZERO;
    while at < silenced_for {
        at += rto;
        rto = (rto * 2).min(RTO_MAX);
    }
    at
}

/// Which directed links are silenced, counted (two faults may silence one link), and since
/// when.
#[derive(Debug, Default)]
pub struct Silences {
    /// (from, to) -> (how many faults silence it, since when).
    directed: BTreeMap<(String, String), (u32, Duration)>,
}

impl Silences {
    /// Silences `from -> to` at `now`.
    pub fn silence(&mut self, from: &str, to: &str, now: Duration) {
        let entry = self
            .directed
            .entry((from.to_string(), to.to_string()))
            .or_insert((0, now));
        if entry.0 == 0 {
            entry.1 = now;
        }
        entry.0 += 1;
    }

    /// Lifts one silence of `from -> to`; returns how long it had been silent when it opens
    /// (None while another fault still silences it).
    pub fn restore(&mut self, from: &str, to: &str, now: Duration) -> Option<Duration> {
        let key = (from.to_string(), to.to_string());
        let (count, since) = self.directed.get_mut(&key)?;
        *count -= 1;
        if *count > 0 {
            return None;
        }
        let silenced_for = now.saturating_sub(*since);
        self.directed.remove(&key);
        Some(silenced_for)
    }

    /// Whether traffic from `from` to `to` is silenced.
    pub fn is_silent(&self, from: &str, to: &str) -> bool {
        self.directed
            .contains_key(&(from.to_string(), to.to_string()))
    }
}

/// A held link and what of it still flows: the open direction of a one-way silence, and,
/// once a silence healed, new connections while the old ones wait for their retransmission.
#[derive(Debug)]
pub struct HeldLink {
    /// Its hosts, and whether traffic from each is silenced (`a` sorts first, as turmoil's
    /// link pairs do).
    pub a: IpAddr,
    pub b: IpAddr,
    pub silent_from_a: bool,
    pub silent_from_b: bool,
    /// One-way delay of the link.
    pub delay: Duration,
    /// After a heal: the connections that had bytes held, and when TCP retransmits them.
    pub healing: Option<Healing>,
    /// When each forwardable held message was first seen, oldest first.
    seen: VecDeque<Duration>,
}

#[derive(Debug)]
pub struct Healing {
    pub held_connections: BTreeSet<(SocketAddr, SocketAddr)>,
    pub release_at: Duration,
}

impl HeldLink {
    pub fn new(a: IpAddr, b: IpAddr, delay: Duration) -> HeldLink {
        debug_assert!(a < b);
        HeldLink {
            a,
            b,
            silent_from_a: false,
            silent_from_b: false,
            delay,
            healing: None,
            seen: VecDeque::new(),
        }
    }

    /// The link changed (a silence started or ended): forwarding starts over.
    pub fn changed(&mut self) {
        self.seen.clear();
    }

    fn silent_from(&self, ip: IpAddr) -> bool {
        if ip == self.a {
            self.silent_from_a
        } else {
            self.silent_from_b
        }
    }

    /// Whether a held message may go through now (after its latency).
    fn forwardable(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        protocol: &Protocol,
        now: Duration,
    ) -> bool {
        if self.silent_from(src.ip()) {
            return false;
        }
        // A SYN whose SYN-ACK cannot come back: the dial waits for its timeout.
        if matches!(protocol, Protocol::Tcp(Segment::Syn(_))) && self.silent_from(dst.ip()) {
            return false;
        }
        match &self.healing {
            Some(h) if now < h.release_at => {
                !h.held_connections.contains(&(src, dst))
                    && !h.held_connections.contains(&(dst, src))
            }
            _ => true,
        }
    }

    /// Whether nothing is silenced or waiting any more: turmoil may release the link.
    pub fn is_free(&self, now: Duration) -> bool {
        !self.silent_from_a
            && !self.silent_from_b
            && self.healing.as_ref().is_none_or(|h| now >= h.release_at)
    }
}

/// The connections with bytes held on the link of `a` and `b`.
pub fn held_connections(
    sim: &turmoil::Sim<'_>,
    a: IpAddr,
    b: IpAddr,
) -> BTreeSet<(SocketAddr, SocketAddr)> {
    let mut held = BTreeSet::new();
    sim.links(|all| {
        for link in all.filter(|l| l.pair() == (a, b)) {
            for sent in link {
                held.insert(sent.pair());
            }
        }
    });
    held
}

/// Delivers, on every held link, the held messages that may go through and whose latency has
/// passed, in order (TCP's order within a connection); called between steps.
pub fn forward(
    sim: &turmoil::Sim<'_>,
    links: &mut BTreeMap<(IpAddr, IpAddr), HeldLink>,
    now: Duration,
) {
    if links.is_empty() {
        return;
    }
    sim.links(|all| {
        for link in all {
            let Some(held) = links.get_mut(&link.pair()) else {
                continue;
            };
            let mut index = 0;
            let mut delivered = 0;
            for sent in link {
                let (src, dst) = sent.pair();
                if !held.forwardable(src, dst, sent.protocol(), now) {
                    continue;
                }
                if index == held.seen.len() {
                    held.seen.push_back(now);
                }
                // The prefix whose latency has passed goes; the rest waits, in order.
                if delivered == index && held.seen[index] + held.delay <= now {
                    sent.deliver();
                    delivered += 1;
                }
                index += 1;
            }
            held.seen.drain(..delivered);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retransmission_comes_at_the_first_doubled_timeout_after_the_heal() {
        let rtt = Duration::from_millis(70);
        // 270, 540, 1080, ... ms: cumulative 270, 810, 1890, 4050, 8370, 17010, 34290, 68850.
        assert_eq!(
            retransmission_after(Duration::from_secs(45), rtt),
            Duration::from_millis(68_850)
        );
        assert_eq!(
            retransmission_after(Duration::from_secs(1), rtt),
            Duration::from_millis(1890)
        );
        assert_eq!(retransmission_after(Duration::ZERO, rtt), Duration::ZERO);
        // The doubling stops at 120 s.
        let long = retransmission_after(Duration::from_secs(3600), rtt);
        assert!(
            long >= Duration::from_secs(3600) && long < Duration::from_secs(3720),
            "{long:?}"
        );
    }

    #[test]
    fn silences_count_and_remember_since_when() {
        let mut s = Silences::default();
        let t = Duration::from_secs;
        s.silence("a", "b", t(1));
        assert!(s.is_silent("a", "b") && !s.is_silent("b", "a"));
        s.silence("b", "a", t(2));
        s.silence("a", "b", t(3));
        assert_eq!(
            s.restore("a", "b", t(4)),
            None,
            "another fault still silences it"
        );
        assert_eq!(s.restore("b", "a", t(5)), Some(t(3)));
        assert_eq!(s.restore("a", "b", t(10)), Some(t(9)));
        assert!(!s.is_silent("a", "b"));
        assert_eq!(s.restore("a", "b", t(11)), None, "not silenced");
    }
}
