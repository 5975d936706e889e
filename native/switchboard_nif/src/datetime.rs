//! A wall-clock time as Elixir's `%DateTime{}` in UTC, built here because
//! the structs that carry one are encoded on runtime threads, away from any
//! Elixir code that could convert it.

use std::time::{SystemTime, UNIX_EPOCH};

use rustler::{Encoder, Env, Term};

rustler::atoms! {
    __struct__,
    datetime = "Elixir.DateTime",
    calendar_iso = "Elixir.Calendar.ISO",
    calendar,
    year,
    month,
    day,
    hour,
    minute,
    second,
    microsecond,
    std_offset,
    utc_offset,
    time_zone,
    zone_abbr,
}

pub struct ExDateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    microsecond: (u32, u32),
}

impl Encoder for ExDateTime {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let keys = [
            __struct__(),
            calendar(),
            year(),
            month(),
            day(),
            hour(),
            minute(),
            second(),
            microsecond(),
            std_offset(),
            utc_offset(),
            time_zone(),
            zone_abbr(),
        ]
        .map(|k| k.encode(env));
        let values = [
            datetime().encode(env),
            calendar_iso().encode(env),
            self.year.encode(env),
            self.month.encode(env),
            self.day.encode(env),
            self.hour.encode(env),
            self.minute.encode(env),
            self.second.encode(env),
            self.microsecond.encode(env),
            0.encode(env),
            0.encode(env),
            "Etc/UTC".encode(env),
            "UTC".encode(env),
        ];
        Term::map_from_term_arrays(env, &keys, &values)
            .unwrap_or_else(|_| rustler::types::atom::nil().encode(env))
    }
}

/// Never decoded: the derive of `Switchboard.Attempt` asks for it.
impl<'a> rustler::Decoder<'a> for ExDateTime {
    fn decode(_term: Term<'a>) -> rustler::NifResult<Self> {
        Err(rustler::Error::BadArg)
    }
}

impl From<SystemTime> for ExDateTime {
    fn from(time: SystemTime) -> Self {
        // Before 1970 only on a clock set wrong; shown as the epoch then.
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since_epoch.as_secs();
        let (year, month, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
        let in_day = secs % 86_400;
        ExDateTime {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day % 3600 / 60) as u32,
            second: (in_day % 60) as u32,
            microsecond: (since_epoch.subsec_micros(), 6),
        }
    }
}

/// Days since 1970-01-01 as a proleptic Gregorian (year, month, day):
/// counted in 400-year eras of 146 097 days that start on 1 March, so the
/// leap day is the last day of an era's year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
