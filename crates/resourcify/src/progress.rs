//! A replay's progress on stderr: one bar per projection with the events
//! done, the rate and the time left; redrawn in place on a terminal, plain
//! lines now and then anywhere else (CI logs, tests). Either way each
//! projection ends with a line at 100 %.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use resourcify_projector::{Projection, ReplayProgress, ReplayReport};

/// How often a terminal is redrawn: smooth enough, and cheap.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// How often plain lines are written: a log of a long replay stays readable.
const PLAIN_EVERY: Duration = Duration::from_secs(5);
const BAR_WIDTH: usize = 24;

/// Every replaying projection's bar, drawn on `out`.
#[derive(Debug)]
pub struct ReplayBoard<W: Write> {
    bars: Vec<Bar>,
    out: W,
    style: Style,
    /// When the board was last drawn (or, for plain lines, started).
    drawn: Option<Instant>,
    /// Lines of the last drawing still on a terminal, to draw over.
    lines_on_screen: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Bars drawn over in place.
    Terminal,
    /// A line per projection now and then, never drawn over.
    Plain,
}

impl ReplayBoard<std::io::Stderr> {
    /// A board on stderr, in the style stderr can show.
    pub fn on_stderr(projections: &[Projection]) -> Self {
        let stderr = std::io::stderr();
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        let style = if stderr.is_terminal() && !dumb {
            Style::Terminal
        } else {
            Style::Plain
        };
        Self::new(projections, stderr, style)
    }
}

impl<W: Write> ReplayBoard<W> {
    pub fn new(projections: &[Projection], out: W, style: Style) -> Self {
        Self {
            bars: projections.iter().map(|&p| Bar::new(p)).collect(),
            out,
            style,
            drawn: match style {
                Style::Terminal => None,
                Style::Plain => Some(Instant::now()),
            },
            lines_on_screen: 0,
        }
    }

    /// Takes a projection's latest progress; draws if it is time to.
    pub fn update(&mut self, progress: ReplayProgress) {
        let Some(bar) = self
            .bars
            .iter_mut()
            .find(|b| b.projection == progress.projection)
        else {
            return;
        };
        bar.done = progress.position;
        bar.total = Some(progress.head);
        bar.rate = progress.rate;
        // After every batch each projection reports in turn: drawing before
        // the last has would show the others a batch behind.
        if self
            .bars
            .last()
            .is_some_and(|b| b.projection != progress.projection)
        {
            return;
        }
        let every = match self.style {
            Style::Terminal => REDRAW_EVERY,
            Style::Plain => PLAIN_EVERY,
        };
        if self.drawn.is_none_or(|at| at.elapsed() >= every) {
            self.draw();
        }
    }

    /// Marks each reported projection done, at 100 %, and draws the last lines.
    pub fn finish(&mut self, reports: &[ReplayReport]) {
        for report in reports {
            if let Some(bar) = self
                .bars
                .iter_mut()
                .find(|b| b.projection == report.projection)
            {
                bar.done = report.resumed_from + report.events;
                bar.total = Some(bar.done);
                bar.rate = report.rate();
                bar.took = Some(report.elapsed);
            }
        }
        self.draw();
    }

    /// What the writer has been given, for tests.
    #[cfg(test)]
    fn into_inner(self) -> W {
        self.out
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let width = self
            .bars
            .iter()
            .map(|b| b.projection.name().len())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        match self.style {
            Style::Terminal => {
                if self.lines_on_screen > 0 {
                    // Back to the first line of the last drawing.
                    text.push_str(&format!("\x1b[{}A", self.lines_on_screen));
                }
                for bar in &self.bars {
                    text.push_str(&format!("\r\x1b[2K{}\n", bar.line(width)));
                }
                self.lines_on_screen = self.bars.len();
            }
            Style::Plain => {
                // Only what moved since the last lines; a bar ends once.
                for bar in self.bars.iter_mut().filter(|b| b.has_news()) {
                    text.push_str(&bar.line(width));
                    text.push('\n');
                    bar.shown = Some((bar.done, bar.took.is_some()));
                }
            }
        }
        // Progress is a courtesy: a closed stderr must not stop the replay.
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

/// One projection's progress.
#[derive(Debug)]
struct Bar {
    projection: Projection,
    /// The position applied so far.
    done: u64,
    /// The head of the log; unknown until the first batch.
    total: Option<u64>,
    /// Events per second in this run.
    rate: f64,
    /// How long the whole replay took, once it is done.
    took: Option<Duration>,
    /// What the last plain line showed: position, and whether finished.
    shown: Option<(u64, bool)>,
}

impl Bar {
    fn new(projection: Projection) -> Self {
        Self {
            projection,
            done: 0,
            total: None,
            rate: 0.0,
            took: None,
            shown: None,
        }
    }

    /// Whether a plain line would say something the last one did not.
    fn has_news(&self) -> bool {
        self.total.is_some() && self.shown != Some((self.done, self.took.is_some()))
    }

    /// `resources [#########---------------]  4000/10000  40%   2510 events/s  ETA 2s`
    fn line(&self, name_width: usize) -> String {
        let name = self.projection.name();
        let Some(head) = self.total else {
            return format!("{name:<name_width$} [{}] starting", "-".repeat(BAR_WIDTH));
        };
        // The head is looked at now and then; a batch may end beyond it.
        let total = head.max(self.done);
        let fraction = if total == 0 {
            1.0
        } else {
            self.done as f64 / total as f64
        };
        let filled = ((fraction * BAR_WIDTH as f64) as usize).min(BAR_WIDTH);
        // Never "100 %" before it is, never below it when it is.
        let percent = if self.done >= total {
            100
        } else {
            ((fraction * 100.0) as u64).min(99)
        };
        let tail = match self.took {
            Some(took) => format!("done in {:.1} s", took.as_secs_f64()),
            // Indexes and the switch-over are still to come.
            None if self.done >= total => "finishing".to_owned(),
            None => format!("ETA {}", eta(total - self.done, self.rate)),
        };
        let (done, rate) = (self.done, self.rate.max(0.0));
        let done_width = total.to_string().len();
        format!(
            "{name:<name_width$} [{}{}] {done:>done_width$}/{total} {percent:>3}% {rate:>6.0} events/s  {tail}",
            "#".repeat(filled),
            "-".repeat(BAR_WIDTH - filled),
        )
    }
}

/// `left` events at `rate` per second, as `45s`, `3m05s` or `1h02m`.
fn eta(left: u64, rate: f64) -> String {
    if left == 0 {
        return "0s".into();
    }
    if rate <= 0.0 || !rate.is_finite() {
        return "?".into();
    }
    let secs = (left as f64 / rate).ceil() as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(projection: Projection, position: u64, head: u64) -> ReplayProgress {
        ReplayProgress {
            projection,
            position,
            head,
            rate: 1000.0,
        }
    }

    fn report(projection: Projection, events: u64) -> ReplayReport {
        ReplayReport {
            projection,
            resumed_from: 0,
            events,
            elapsed: Duration::from_millis(1500),
            switched_at: events,
        }
    }

    fn plain_board() -> ReplayBoard<Vec<u8>> {
        ReplayBoard::new(&Projection::ALL, Vec::new(), Style::Plain)
    }

    fn text(board: ReplayBoard<Vec<u8>>) -> String {
        String::from_utf8(board.into_inner()).unwrap()
    }

    fn text_so_far(board: &ReplayBoard<Vec<u8>>) -> String {
        String::from_utf8(board.out.clone()).unwrap()
    }

    #[test]
    fn a_running_bar_shows_events_rate_and_time_left() {
        let mut bar = Bar::new(Projection::Resources);
        (bar.done, bar.total, bar.rate) = (4000, Some(10_000), 2000.0);
        assert_eq!(
            bar.line(9),
            "resources [#########---------------]  4000/10000  40%   2000 events/s  ETA 3s"
        );
    }

    #[test]
    fn every_projection_ends_at_100_percent_with_its_own_name() {
        let mut board = plain_board();
        board.update(progress(Projection::Users, 3, 10));
        board.finish(&Projection::ALL.map(|p| report(p, 10)));
        let out = text(board);
        for projection in Projection::ALL {
            let last = out
                .lines()
                .rfind(|l| l.starts_with(projection.name()))
                .unwrap_or_else(|| panic!("no line for {}: {out}", projection.name()));
            assert!(
                last.contains(" 10/10 100%") && last.ends_with("done in 1.5 s"),
                "{last}"
            );
        }
    }

    #[test]
    fn an_empty_log_is_done_at_100_percent() {
        let mut board = plain_board();
        board.finish(&[report(Projection::News, 0)]);
        let out = text(board);
        // Names are padded to the longest projection's.
        let width = Projection::ALL.map(|p| p.name().len()).into_iter().max();
        let name = format!("{:<width$}", "news", width = width.unwrap_or(0));
        assert!(
            out.starts_with(&format!("{name} [########################] 0/0 100%")),
            "{out}"
        );
    }

    #[test]
    fn a_batch_beyond_the_head_is_100_percent_not_more() {
        let mut bar = Bar::new(Projection::Users);
        (bar.done, bar.total) = (120, Some(100));
        assert!(bar.line(5).contains(" 120/120 100%"), "{}", bar.line(5));
        (bar.done, bar.total) = (9999, Some(10_000));
        assert!(bar.line(5).contains(" 99%"), "{}", bar.line(5));
    }

    #[test]
    fn plain_lines_are_never_drawn_over_and_come_now_and_then() {
        let mut board = plain_board();
        for position in 1..=50 {
            board.update(progress(Projection::Users, position, 50));
        }
        board.finish(&[report(Projection::Users, 50)]);
        let out = text(board);
        assert!(!out.contains('\r') && !out.contains('\x1b'), "{out:?}");
        // Within five seconds: no progress lines, only the last one.
        assert_eq!(out.lines().count(), 1, "{out}");
    }

    #[test]
    fn plain_lines_show_what_moved_once_five_seconds_have_passed() {
        let mut board = ReplayBoard::new(
            &[Projection::Users, Projection::News],
            Vec::new(),
            Style::Plain,
        );
        board.drawn = Some(Instant::now() - PLAIN_EVERY);
        board.update(progress(Projection::Users, 5, 10));
        board.update(progress(Projection::News, 5, 10));
        let out = text_so_far(&board);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.lines().all(|l| l.contains(" 5/10  50%")), "{out}");
        // The next batch comes too soon for another line.
        board.update(progress(Projection::Users, 7, 10));
        board.update(progress(Projection::News, 7, 10));
        assert_eq!(text_so_far(&board), out);
    }

    #[test]
    fn a_terminal_is_drawn_over_in_place() {
        let mut board = ReplayBoard::new(
            &[Projection::Users, Projection::News],
            Vec::new(),
            Style::Terminal,
        );
        board.update(progress(Projection::Users, 5, 10));
        // Drawn once every projection has reported on the batch.
        assert!(board.out.is_empty());
        board.update(progress(Projection::News, 5, 10));
        assert_eq!(text_so_far(&board).matches(" 5/10  50%").count(), 2);
        board.finish(&[report(Projection::Users, 10), report(Projection::News, 10)]);
        let out = text(board);
        assert!(out.contains("\x1b[2A"), "{out:?}");
        let last = out.rsplit("\x1b[2A").next().unwrap();
        assert_eq!(last.matches("100%").count(), 2, "{last:?}");
    }

    #[test]
    fn time_left_reads_at_a_glance() {
        assert_eq!(eta(0, 0.0), "0s");
        assert_eq!(eta(10, 0.0), "?");
        assert_eq!(eta(450, 10.0), "45s");
        assert_eq!(eta(1850, 10.0), "3m05s");
        assert_eq!(eta(37_200, 10.0), "1h02m");
    }
}
