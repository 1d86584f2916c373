//! A cap on how many tokens a source may request: a runaway loop cannot burn the quota.
//!
//! Providers count machine-to-machine tokens (Auth0, which Entur's partner login is built on,
//! bills and throttles them per client per month). A bug that invalidates on every request, or a
//! fleet restarting in a crash loop, would otherwise spend the quota in minutes. When the budget is
//! spent, fetches fail with [`Error::BudgetExhausted`] while the cached token keeps being served
//! as long as it is usable.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::error::Error;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// At most `per_hour` token requests in any sliding hour and `per_day` in any sliding day.
///
/// `None` means no cap for that window; the default has no caps at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchBudget {
    /// Token requests allowed in any 60 minutes.
    pub per_hour: Option<u32>,
    /// Token requests allowed in any 24 hours.
    pub per_day: Option<u32>,
}

/// What is left of a [`FetchBudget`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetLeft {
    /// Requests left in the current sliding hour, when capped.
    pub hour: Option<u32>,
    /// Requests left in the current sliding day, when capped.
    pub day: Option<u32>,
}

impl BudgetLeft {
    /// True when a capped window has no request left.
    pub fn exhausted(&self) -> bool {
        self.hour == Some(0) || self.day == Some(0)
    }
}

/// The budget and the times of the requests spent against it.
#[derive(Debug)]
pub(crate) struct BudgetMeter {
    budget: FetchBudget,
    /// Request times within the longest capped window, oldest first.
    spent: Mutex<VecDeque<SystemTime>>,
}

impl BudgetMeter {
    pub(crate) fn new(budget: FetchBudget) -> Self {
        Self {
            budget,
            spent: Mutex::new(VecDeque::new()),
        }
    }

    /// Refuses when a capped window is full at `now`; records nothing (see [`record`]).
    ///
    /// [`record`]: Self::record
    pub(crate) fn check(&self, now: SystemTime) -> Result<(), Error> {
        if self.budget == FetchBudget::default() {
            return Ok(());
        }
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        forget_older_than(&mut spent, now, self.horizon());
        for (limit, window, name) in self.windows() {
            let in_window: Vec<&SystemTime> =
                spent.iter().filter(|t| within(now, **t, window)).collect();
            if in_window.len() >= limit as usize {
                let oldest = *in_window[0];
                let retry_in = (oldest + window).duration_since(now).unwrap_or_default();
                return Err(Error::BudgetExhausted {
                    limit,
                    window: name,
                    retry_in,
                });
            }
        }
        Ok(())
    }

    /// Counts one token request made at `now` against the budget. Only requests the provider
    /// answered are counted: one that never reached it (connection refused, DNS) costs the
    /// provider's quota nothing.
    pub(crate) fn record(&self, now: SystemTime) {
        if self.budget == FetchBudget::default() {
            return;
        }
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        spent.push_back(now);
    }

    /// Checks, then records: one token request at `now`, or a refusal when a window is full.
    #[cfg(test)]
    fn spend(&self, now: SystemTime) -> Result<(), Error> {
        self.check(now)?;
        self.record(now);
        Ok(())
    }

    /// What is left at `now`.
    pub(crate) fn left(&self, now: SystemTime) -> BudgetLeft {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let left = |limit: Option<u32>, window: Duration| {
            limit.map(|limit| {
                let used = spent.iter().filter(|t| within(now, **t, window)).count();
                limit.saturating_sub(used as u32)
            })
        };
        BudgetLeft {
            hour: left(self.budget.per_hour, HOUR),
            day: left(self.budget.per_day, DAY),
        }
    }

    fn windows(&self) -> impl Iterator<Item = (u32, Duration, &'static str)> {
        let hour = self.budget.per_hour.map(|limit| (limit, HOUR, "hour"));
        let day = self.budget.per_day.map(|limit| (limit, DAY, "day"));
        hour.into_iter().chain(day)
    }

    fn horizon(&self) -> Duration {
        if self.budget.per_day.is_some() {
            DAY
        } else {
            HOUR
        }
    }
}

fn within(now: SystemTime, at: SystemTime, window: Duration) -> bool {
    now.duration_since(at).map_or(true, |age| age < window)
}

fn forget_older_than(spent: &mut VecDeque<SystemTime>, now: SystemTime, horizon: Duration) {
    while spent.front().is_some_and(|t| !within(now, *t, horizon)) {
        spent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hourly_cap_refuses_and_recovers_after_the_window() {
        let meter = BudgetMeter::new(FetchBudget {
            per_hour: Some(2),
            per_day: Some(3),
        });
        let start = SystemTime::UNIX_EPOCH + DAY;
        meter.spend(start).unwrap();
        meter.spend(start + Duration::from_secs(60)).unwrap();
        let refused = meter.spend(start + Duration::from_secs(120)).unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("2 token requests per hour"), "{text}");
        assert!(
            matches!(refused, Error::BudgetExhausted { retry_in, .. } if retry_in == Duration::from_secs(3480))
        );
        assert_eq!(
            meter.left(start + Duration::from_secs(120)),
            BudgetLeft {
                hour: Some(0),
                day: Some(1)
            }
        );
        // An hour after the first request, the hour has room but the day cap (3) now binds.
        meter.spend(start + HOUR).unwrap();
        let refused = meter
            .spend(start + HOUR + Duration::from_secs(61))
            .unwrap_err();
        assert!(refused.to_string().contains("per day"), "{refused}");
    }

    #[test]
    fn no_budget_never_refuses() {
        let meter = BudgetMeter::new(FetchBudget::default());
        let now = SystemTime::now();
        for _ in 0..10_000 {
            meter.spend(now).unwrap();
        }
        assert_eq!(meter.left(now), BudgetLeft::default());
    }
}
