//! A voter's choices and the contest rules, in words (SPEC.md §6.1).
//!
//! The crypto core refuses a choice that breaks the rules
//! ([`Contest::check_choice`]); this module says *why* in a sentence meant
//! for the voter, before anything is encrypted, and parses the command
//! line's `CONTEST=OPTION[,OPTION…]` / `CONTEST=OPTION:POINTS[,…]` form.

use psephos_crypto::ballot::Contest;
use thiserror::Error;

/// A choice that breaks a contest's rules; the message is for the voter.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ChoiceError {
    /// The contest concerned (its id), `None` for the ballot as a whole.
    pub contest: Option<String>,
    /// A sentence.
    pub message: String,
}

fn err(contest: &Contest, message: String) -> ChoiceError {
    ChoiceError {
        contest: Some(contest.id.clone()),
        message,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Whether the contest gives each option 0 or 1 (plurality, approval)
/// rather than points (score, cumulative).
pub fn is_selection(contest: &Contest) -> bool {
    contest.max_per_option == 1
}

/// The rule of a contest in one sentence, e.g. "Choose one option."
pub fn rules_text(contest: &Contest) -> String {
    let (min, max) = (contest.min_selections, contest.max_selections);
    if is_selection(contest) {
        return match (min, max) {
            (1, 1) => "Choose one option.".into(),
            (a, b) if a == b => format!("Choose exactly {}.", plural(a, "option", "options")),
            (0, b) => format!("Choose up to {}.", plural(b, "option", "options")),
            (a, b) => format!("Choose between {a} and {b} options."),
        };
    }
    let per = contest.max_per_option;
    let most = per * contest.options.len() as u64;
    let each = format!("Give each option 0 to {per} points");
    match (min, max) {
        (0, b) if b >= most => format!("{each}."),
        (a, b) if a == b => format!("{each}; they must add up to exactly {a}."),
        (0, b) => format!("{each}; at most {b} in total."),
        (a, b) => format!("{each}; between {a} and {b} in total."),
    }
}

/// Check one contest's values, with a sentence for the voter when they
/// break the rules (SPEC.md §6.1: `v_i ∈ [0, max_per_option]`,
/// `Σ v_i ∈ [min_selections, max_selections]`). The verdict is the crypto
/// core's ([`Contest::check_choice`], the one copy of the rule); this
/// function only says why.
pub fn check_contest(contest: &Contest, values: &[u64]) -> Result<(), ChoiceError> {
    let Err(verdict) = contest.check_choice(values) else {
        return Ok(());
    };
    let title = &contest.title;
    if values.len() != contest.options.len() {
        return Err(err(
            contest,
            format!(
                "“{title}” has {} options but {} values were given.",
                contest.options.len(),
                values.len()
            ),
        ));
    }
    let per = contest.max_per_option;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| **v > per) {
        let label = &contest.options[i].label;
        let message = if is_selection(contest) {
            format!("In “{title}”, “{label}” can be chosen once at most.")
        } else {
            format!("In “{title}”, “{label}” can get at most {per} points, not {v}.")
        };
        return Err(err(contest, message));
    }
    let total: u64 = values.iter().sum();
    let (min, max) = (contest.min_selections, contest.max_selections);
    if (min..=max).contains(&total) {
        return Err(err(contest, format!("In “{title}”: {verdict}.")));
    }
    let message = if is_selection(contest) {
        let chose = match total {
            0 => "you have not chosen any yet".to_string(),
            n => format!("you chose {n}"),
        };
        let need = match (min, max) {
            (a, b) if a == b => format!("choose exactly {}", plural(a, "option", "options")),
            (0, b) => format!("choose at most {}", plural(b, "option", "options")),
            (a, b) => format!("choose at least {a} and at most {b} options"),
        };
        format!("In “{title}”, {need}; {chose}.")
    } else {
        let need = match (min, max) {
            (a, b) if a == b => format!("must add up to exactly {a}"),
            (0, b) => format!("must add up to at most {b}"),
            (a, b) => format!("must add up to between {a} and {b}"),
        };
        format!("In “{title}”, the points {need}; they add up to {total}.")
    };
    Err(err(contest, message))
}

/// Check every contest; returns every problem, so the page can show each
/// next to its contest.
pub fn check_all(contests: &[Contest], choices: &[Vec<u64>]) -> Vec<ChoiceError> {
    if contests.len() != choices.len() {
        return vec![ChoiceError {
            contest: None,
            message: format!(
                "The ballot has {} contests but choices for {} were given.",
                contests.len(),
                choices.len()
            ),
        }];
    }
    contests
        .iter()
        .zip(choices)
        .filter_map(|(c, v)| check_contest(c, v).err())
        .collect()
}

/// Parse the command line's choices: each `CONTEST=OPTION[,OPTION…]`
/// selects options (value 1), `CONTEST=OPTION:POINTS[,…]` gives points.
/// Contests and options are named by id. A contest not named gets all
/// zeros (which its rules may refuse).
pub fn parse_choices(contests: &[Contest], args: &[String]) -> Result<Vec<Vec<u64>>, ChoiceError> {
    let general = |message: String| ChoiceError {
        contest: None,
        message,
    };
    let mut out: Vec<Vec<u64>> = contests.iter().map(|c| vec![0; c.options.len()]).collect();
    let mut seen = vec![false; contests.len()];
    for arg in args {
        let (cid, list) = arg.split_once('=').ok_or_else(|| {
            general(format!(
                "“{arg}” is not of the form CONTEST=OPTION[,OPTION…]."
            ))
        })?;
        let ci = contests.iter().position(|c| c.id == cid).ok_or_else(|| {
            let known: Vec<&str> = contests.iter().map(|c| c.id.as_str()).collect();
            general(format!(
                "There is no contest “{cid}”; the contests are: {}.",
                known.join(", ")
            ))
        })?;
        let contest = &contests[ci];
        if std::mem::replace(&mut seen[ci], true) {
            return Err(err(contest, format!("Contest “{cid}” is named twice.")));
        }
        for item in list.split(',').filter(|s| !s.is_empty()) {
            let (oid, points) = match item.split_once(':') {
                Some((o, p)) => {
                    let n = p.parse::<u64>().map_err(|_| {
                        err(
                            contest,
                            format!("“{p}” (for “{o}”) is not a whole number of points."),
                        )
                    })?;
                    (o, n)
                }
                None => (item, 1),
            };
            let oi = contest
                .options
                .iter()
                .position(|o| o.id == oid)
                .ok_or_else(|| {
                    let known: Vec<&str> = contest.options.iter().map(|o| o.id.as_str()).collect();
                    err(
                        contest,
                        format!(
                            "Contest “{cid}” has no option “{oid}”; its options are: {}.",
                            known.join(", ")
                        ),
                    )
                })?;
            out[ci][oi] = out[ci][oi].saturating_add(points);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use psephos_crypto::ballot::ContestOption;

    fn contest(n: usize, min: u64, max: u64, per: u64) -> Contest {
        Contest {
            id: "mayor".into(),
            title: "Mayor".into(),
            options: (0..n)
                .map(|i| ContestOption {
                    id: format!("o{i}"),
                    label: format!("Option {i}"),
                })
                .collect(),
            min_selections: min,
            max_selections: max,
            max_per_option: per,
        }
    }

    #[test]
    fn rules_are_stated_in_words_for_each_kind_of_contest() {
        assert_eq!(rules_text(&contest(3, 1, 1, 1)), "Choose one option.");
        assert_eq!(rules_text(&contest(5, 0, 3, 1)), "Choose up to 3 options.");
        assert_eq!(
            rules_text(&contest(5, 1, 3, 1)),
            "Choose between 1 and 3 options."
        );
        assert_eq!(
            rules_text(&contest(4, 0, 40, 10)),
            "Give each option 0 to 10 points."
        );
        assert_eq!(
            rules_text(&contest(4, 10, 10, 10)),
            "Give each option 0 to 10 points; they must add up to exactly 10."
        );
    }

    #[test]
    fn plurality_errors_say_how_many_were_chosen() {
        let c = contest(3, 1, 1, 1);
        assert_eq!(
            check_contest(&c, &[0, 0, 0]).unwrap_err().message,
            "In “Mayor”, choose exactly 1 option; you have not chosen any yet."
        );
        assert_eq!(
            check_contest(&c, &[1, 1, 0]).unwrap_err().message,
            "In “Mayor”, choose exactly 1 option; you chose 2."
        );
        check_contest(&c, &[0, 1, 0]).unwrap();
    }

    #[test]
    fn score_errors_name_the_option_and_the_total() {
        let c = contest(3, 0, 12, 10);
        assert_eq!(
            check_contest(&c, &[11, 0, 0]).unwrap_err().message,
            "In “Mayor”, “Option 0” can get at most 10 points, not 11."
        );
        assert_eq!(
            check_contest(&c, &[10, 3, 0]).unwrap_err().message,
            "In “Mayor”, the points must add up to at most 12; they add up to 13."
        );
    }

    #[test]
    fn the_choices_the_crypto_core_accepts_are_exactly_those_accepted_here() {
        for c in [
            contest(3, 1, 1, 1),
            contest(3, 0, 2, 1),
            contest(2, 1, 5, 3),
        ] {
            for a in 0..5 {
                for b in 0..5 {
                    for d in 0..5 {
                        let v = if c.options.len() == 3 {
                            vec![a, b, d]
                        } else {
                            vec![a, b]
                        };
                        assert_eq!(
                            check_contest(&c, &v).is_ok(),
                            c.check_choice(&v).is_ok(),
                            "{v:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn command_line_choices_select_options_and_give_points() {
        let mut score = contest(3, 0, 30, 10);
        score.id = "budget".into();
        let contests = [contest(3, 1, 1, 1), score];
        let args = vec!["mayor=o1".to_string(), "budget=o0:4,o2:6".to_string()];
        assert_eq!(
            parse_choices(&contests, &args).unwrap(),
            vec![vec![0, 1, 0], vec![4, 0, 6]]
        );
        let bad = parse_choices(&contests, &["mayor=o9".to_string()]).unwrap_err();
        assert!(bad.message.contains("no option “o9”"), "{bad}");
        assert!(parse_choices(&contests, &["council=o1".to_string()]).is_err());
        assert!(parse_choices(&contests, &["budget=o0:x".to_string()]).is_err());
    }
}
