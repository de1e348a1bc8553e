//! The nouns at the ground: what an environment, a window, a duration, an override, an audit
//! event and money are. Everything above builds on them; they import nothing of lightsout but
//! the resource kinds an environment is made of.

mod audit;
mod duration;
mod environment;
mod money;
mod overrides;
mod progress;
mod transition;
mod window;

pub use audit::{Action, AuditEvent, Effect, Idle, Outcome};
pub use duration::{format_duration, parse_duration};
pub use environment::*;
pub use money::{Money, thousands};
pub use overrides::{Hold, Override};
pub use progress::{KindCount, Progress, Standing};
pub use transition::{Change, EVENT_SOURCE, Transition};
pub use window::{DAY_MINUTES, DAY_NAMES, WeekMinutes, Window, WindowError, week_minute_label};
