//! The peer's delivery client (internal/pkg/peer/blocksprovider/blocksprovider.go
//! DeliverBlocks, with internal/pkg/peer/orderers/connection.go for endpoint choice), as a
//! state machine the node drives; the shell owns the connection.
//!
//! Loop: after n consecutive failures wait 100 ms x 1.2^(n-1) (whole milliseconds, as Go
//! converts), or reConnectBackoffThreshold once that formula would exceed it; connect to a
//! uniformly random orderer endpoint of the channel config (connTimeout); ask for blocks from
//! the ledger height; every block received resets the failure count. A status reply, a block
//! that fails verification, a stream end or a connection failure counts as a failure. The
//! time spent waiting adds up over the client's whole life (it is not reset by blocks, as in
//! Fabric); once it exceeds reconnectTotalTimeThreshold an elected leader gives up (and
//! yields leadership), a static leader keeps trying. New orderer endpoints in a config update
//! make the client reconnect without counting a failure.

use crate::fabric::config::DeliveryConfig;
use rand::{Rng, RngCore};
use std::time::Duration;

/// Fabric's first retry delay (core/deliverservice: InitialRetryDelay).
const INITIAL_RETRY_DELAY: Duration = Duration::from_millis(100);
const BACKOFF_BASE: f64 = 1.2;

/// Identifies one connection attempt of the delivery client, so that reports about an older
/// connection are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliverConnection(pub u64);

/// The wait before the attempt that follows `failures` consecutive failures (failures >= 1).
pub fn backoff_delay(failures: u32, max_retry_delay: Duration) -> Duration {
    // maxFailures := int(log(MaxRetryDelay/InitialRetryDelay) / log(1.2))
    let ratio = max_retry_delay.as_secs_f64() / INITIAL_RETRY_DELAY.as_secs_f64();
    let max_failures = (ratio.ln() / BACKOFF_BASE.ln()) as i64;
    let exponent = i64::from(failures) - 1;
    if exponent > max_failures {
        return max_retry_delay;
    }
    let millis = (BACKOFF_BASE.powi(exponent as i32) * 100.0) as u64;
    Duration::from_millis(millis)
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Stopped,
    Backoff {
        until: Duration,
    },
    Connecting {
        connection: DeliverConnection,
        start: u64,
        deadline: Duration,
    },
    Streaming {
        connection: DeliverConnection,
    },
}

/// What the delivery client asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeliverAction {
    Connect {
        connection: DeliverConnection,
        endpoint: String,
    },
    /// Send the signed seek request for blocks from `start` on.
    Seek {
        connection: DeliverConnection,
        start: u64,
    },
    Disconnect {
        connection: DeliverConnection,
    },
    /// Delivery gave up (elected leaders only).
    GaveUp,
}

#[derive(Debug)]
pub(crate) struct DeliverClient {
    config: DeliveryConfig,
    /// Elected (not static) leaders give up after reconnectTotalTimeThreshold.
    yield_leadership: bool,
    endpoints: Vec<String>,
    state: State,
    failures: u32,
    total_wait: Duration,
    next_connection: u64,
}

impl DeliverClient {
    pub fn new(config: DeliveryConfig, endpoints: Vec<String>) -> DeliverClient {
        DeliverClient {
            config,
            yield_leadership: false,
            endpoints,
            state: State::Stopped,
            failures: 0,
            total_wait: Duration::ZERO,
            next_connection: 0,
        }
    }

    #[cfg(test)]
    pub fn is_running(&self) -> bool {
        self.state != State::Stopped
    }

    pub fn deadline(&self) -> Option<Duration> {
        match self.state {
            State::Backoff { until } => Some(until),
            State::Connecting { deadline, .. } => Some(deadline),
            State::Stopped | State::Streaming { .. } => None,
        }
    }

    /// StartDeliverForChannel: a fresh client, pulling from `height`.
    pub fn start(
        &mut self,
        now: Duration,
        static_leader: bool,
        height: u64,
        rng: &mut impl RngCore,
    ) -> Vec<DeliverAction> {
        let mut actions = self.stop();
        self.yield_leadership = !static_leader;
        self.failures = 0;
        self.total_wait = Duration::ZERO;
        self.attempt(now, height, rng, &mut actions);
        actions
    }

    /// StopDeliverForChannel.
    pub fn stop(&mut self) -> Vec<DeliverAction> {
        let actions = self
            .open_connection()
            .map(|connection| DeliverAction::Disconnect { connection });
        self.state = State::Stopped;
        actions.into_iter().collect()
    }

    fn open_connection(&self) -> Option<DeliverConnection> {
        match self.state {
            State::Connecting { connection, .. } | State::Streaming { connection } => {
                Some(connection)
            }
            State::Stopped | State::Backoff { .. } => None,
        }
    }

    pub fn handle_timeout(
        &mut self,
        now: Duration,
        height: u64,
        rng: &mut impl RngCore,
    ) -> Vec<DeliverAction> {
        let mut actions = Vec::new();
        match self.state {
            State::Backoff { until } if until <= now => {
                self.connect(now, height, rng, &mut actions)
            }
            State::Connecting {
                connection,
                deadline,
                ..
            } if deadline <= now => {
                actions.push(DeliverAction::Disconnect { connection });
                self.fail(now, height, rng, &mut actions);
            }
            _ => {}
        }
        actions
    }

    pub fn handle_connected(&mut self, connection: DeliverConnection) -> Vec<DeliverAction> {
        match self.state {
            State::Connecting {
                connection: current,
                start,
                ..
            } if current == connection => {
                self.state = State::Streaming { connection };
                vec![DeliverAction::Seek { connection, start }]
            }
            _ => Vec::new(),
        }
    }

    /// The connection failed, the stream ended, the orderer sent a status, or a block failed
    /// verification: all count as a failure of the current connection.
    pub fn handle_failure(
        &mut self,
        now: Duration,
        connection: DeliverConnection,
        height: u64,
        rng: &mut impl RngCore,
    ) -> Vec<DeliverAction> {
        let mut actions = Vec::new();
        if self.open_connection() == Some(connection) {
            actions.push(DeliverAction::Disconnect { connection });
            self.fail(now, height, rng, &mut actions);
        }
        actions
    }

    /// A verified block arrived on `connection`: true when it is the current stream (then the
    /// node takes the block).
    pub fn handle_block(&mut self, connection: DeliverConnection) -> bool {
        let current = matches!(self.state, State::Streaming { connection: c } if c == connection);
        if current {
            self.failures = 0;
        }
        current
    }

    /// New orderer endpoints from a config update: reconnect if they differ (the endpoint's
    /// Refreshed channel).
    pub fn update_endpoints(
        &mut self,
        now: Duration,
        endpoints: Vec<String>,
        height: u64,
        rng: &mut impl RngCore,
    ) -> Vec<DeliverAction> {
        let mut actions = Vec::new();
        let mut old = self.endpoints.clone();
        let mut new = endpoints.clone();
        old.sort();
        new.sort();
        self.endpoints = endpoints;
        if old == new {
            return actions;
        }
        if let Some(connection) = self.open_connection() {
            actions.push(DeliverAction::Disconnect { connection });
            self.attempt(now, height, rng, &mut actions);
        }
        actions
    }

    fn fail(
        &mut self,
        now: Duration,
        height: u64,
        rng: &mut impl RngCore,
        actions: &mut Vec<DeliverAction>,
    ) {
        self.failures += 1;
        self.attempt(now, height, rng, actions);
    }

    /// The top of DeliverBlocks' loop.
    fn attempt(
        &mut self,
        now: Duration,
        height: u64,
        rng: &mut impl RngCore,
        actions: &mut Vec<DeliverAction>,
    ) {
        if self.failures == 0 {
            self.connect(now, height, rng, actions);
            return;
        }
        let wait = backoff_delay(self.failures, self.config.reconnect_backoff_threshold);
        self.total_wait += wait;
        if self.total_wait > self.config.reconnect_total_time_threshold && self.yield_leadership {
            self.state = State::Stopped;
            actions.push(DeliverAction::GaveUp);
            return;
        }
        self.state = State::Backoff { until: now + wait };
    }

    fn connect(
        &mut self,
        now: Duration,
        height: u64,
        rng: &mut impl RngCore,
        actions: &mut Vec<DeliverAction>,
    ) {
        if self.endpoints.is_empty() {
            // "could not get orderer endpoints": a failed connect.
            self.fail(now, height, rng, actions);
            return;
        }
        let endpoint = self.endpoints[rng.random_range(0..self.endpoints.len())].clone();
        self.next_connection += 1;
        let connection = DeliverConnection(self.next_connection);
        self.state = State::Connecting {
            connection,
            start: height,
            deadline: now + self.config.conn_timeout,
        };
        actions.push(DeliverAction::Connect {
            connection,
            endpoint,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn backoff_is_100ms_times_1_2_to_the_n_minus_1_truncated_and_capped() {
        let max = Duration::from_secs(3600);
        let delays: Vec<u64> = (1..=6)
            .map(|n| backoff_delay(n, max).as_millis() as u64)
            .collect();
        assert_eq!(delays, vec![100, 120, 144, 172, 207, 248]);
        // log(36000)/log(1.2) = 57.5: the 58th exponent is the last computed one.
        assert_eq!(backoff_delay(58, max), MS((1.2f64.powi(57) * 100.0) as u64));
        assert_eq!(backoff_delay(59, max), max);
        assert_eq!(backoff_delay(500, max), max);
        // A small threshold caps early.
        assert_eq!(backoff_delay(3, MS(130)), MS(130));
    }

    fn client(endpoints: &[&str]) -> DeliverClient {
        DeliverClient::new(
            FabricConfig::default().delivery,
            endpoints.iter().map(|e| e.to_string()).collect(),
        )
    }

    fn connection_of(actions: &[DeliverAction]) -> DeliverConnection {
        actions
            .iter()
            .find_map(|a| match a {
                DeliverAction::Connect { connection, .. } => Some(*connection),
                _ => None,
            })
            .expect("a connect")
    }

    #[test]
    fn seeks_from_the_height_and_resets_failures_on_a_block() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c = client(&["o1:7050", "o2:7050"]);
        let actions = c.start(MS(0), true, 5, &mut rng);
        let first = connection_of(&actions);
        assert_eq!(
            c.handle_connected(first),
            vec![DeliverAction::Seek {
                connection: first,
                start: 5
            }]
        );
        // A failure: back off 100 ms.
        c.handle_failure(MS(1000), first, 5, &mut rng);
        assert_eq!(c.deadline(), Some(MS(1100)));
        let second = connection_of(&c.handle_timeout(MS(1100), 5, &mut rng));
        // Reports about the old connection change nothing.
        assert!(c.handle_connected(first).is_empty());
        assert!(!c.handle_block(first));
        c.handle_connected(second);
        c.handle_failure(MS(2000), second, 5, &mut rng);
        assert_eq!(c.deadline(), Some(MS(2120)));
        let third = connection_of(&c.handle_timeout(MS(2120), 5, &mut rng));
        c.handle_connected(third);
        assert!(c.handle_block(third));
        c.handle_failure(MS(3000), third, 6, &mut rng);
        assert_eq!(c.deadline(), Some(MS(3100)));
    }

    #[test]
    fn connect_timeout_counts_as_failure() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c = client(&["o1:7050"]);
        let first = connection_of(&c.start(MS(0), true, 1, &mut rng));
        let actions = c.handle_timeout(MS(3000), 1, &mut rng);
        assert_eq!(
            actions,
            vec![DeliverAction::Disconnect { connection: first }]
        );
        assert_eq!(c.deadline(), Some(MS(3100)));
    }

    #[test]
    fn elected_leader_gives_up_after_the_total_threshold_static_does_not() {
        let mut config = FabricConfig::default().delivery;
        config.reconnect_total_time_threshold = Duration::from_secs(1);
        for static_leader in [false, true] {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut c = DeliverClient::new(config.clone(), Vec::new());
            let mut actions = c.start(MS(0), static_leader, 1, &mut rng);
            let mut now = MS(0);
            while let Some(deadline) = c.deadline() {
                if now > Duration::from_secs(10) {
                    break;
                }
                now = deadline;
                actions.extend(c.handle_timeout(now, 1, &mut rng));
            }
            assert_eq!(actions.contains(&DeliverAction::GaveUp), !static_leader);
            assert_eq!(c.is_running(), static_leader);
        }
    }

    #[test]
    fn endpoint_change_reconnects_without_a_failure() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c = client(&["o1:7050"]);
        let first = connection_of(&c.start(MS(0), true, 1, &mut rng));
        c.handle_connected(first);
        assert!(c
            .update_endpoints(MS(10), vec!["o1:7050".into()], 1, &mut rng)
            .is_empty());
        let actions = c.update_endpoints(MS(20), vec!["o2:7050".into()], 1, &mut rng);
        assert_eq!(actions[0], DeliverAction::Disconnect { connection: first });
        assert!(
            matches!(&actions[1], DeliverAction::Connect { endpoint, .. } if endpoint == "o2:7050")
        );
    }
}
