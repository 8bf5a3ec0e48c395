//! Wire timelines drawn as SVG: when bytes crossed, lane by lane.
//!
//! Streaming is about *when* bytes arrive, so the dashboard and the HTML reports draw every
//! invocation as a timeline. A [`Timeline`] is a set of [`Lane`]s (the client's side of the wire,
//! the function's side) on one time axis; each lane holds [`Mark`]s: the request, the response
//! head, each chunk (a bar whose height grows with its size), the end or the abort. The drawing
//! adds what a reader looks for: the time to first byte on the first lane and the long gaps
//! between chunks. [`Timeline::from_record`] builds the two-lane view of a recorded invocation;
//! other crates (the conformance report) build timelines from their own observations.
//!
//! The SVG is self-contained (no fonts, scripts or external references; colours as attributes)
//! so it can be inlined into a page that works from `file://`. Every element a test or a reader
//! may look for has a class: `timeline` on the root, `lane`, `mark` plus the kind (`chunk`,
//! `request`, `head`, `taken`, `end`, `abort`, `error`, `fault`), `ttfb` and `gap`; chunks carry
//! `data-bytes`, and every mark a `<title>` that browsers show on hover. All text is escaped.

use std::fmt::Write as _;
use std::time::Duration;

use crate::invocation::ErrorOrigin;
use crate::recorder::{ClientEnd, InvocationRecord};

/// Drawing width in SVG units (the SVG scales to its container).
const WIDTH: f64 = 960.0;
/// Room for lane names on the left.
const LEFT: f64 = 96.0;
const RIGHT: f64 = 24.0;
/// Room above the first lane.
const TOP: f64 = 14.0;
/// Height of one lane.
const LANE: f64 = 66.0;
/// Room for the time axis below the lanes.
const AXIS: f64 = 26.0;
/// Height of the smallest and the largest chunk bar.
const MIN_BAR: f64 = 6.0;
const MAX_BAR: f64 = 34.0;
/// Gaps between chunks labelled per lane, the longest first.
const MAX_GAP_LABELS: usize = 6;

/// What a mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkKind {
    /// The request was sent (client lane) or received.
    Request,
    /// The runtime took the invocation (`GET /next`).
    Taken,
    /// A response head: the status and headers, or the start of the runtime's answer.
    Head,
    /// A body chunk of this many bytes.
    Chunk {
        /// Its size.
        bytes: u64,
    },
    /// The body ended normally.
    End,
    /// The body was cut, or the client went away.
    Abort,
    /// The answer ended with an error (trailers, `/error`, the platform).
    Error,
    /// A misbehaviour of the runtime that the emulator answered.
    Fault,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Taken => "taken",
            Self::Head => "head",
            Self::Chunk { .. } => "chunk",
            Self::End => "end",
            Self::Abort => "abort",
            Self::Error => "error",
            Self::Fault => "fault",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Self::Request | Self::Taken => "#5b6b7f",
            Self::Head => "#7a4fbf",
            Self::Chunk { .. } => "#2f6fd6",
            Self::End => "#1f8a4c",
            Self::Abort | Self::Error => "#c8302c",
            Self::Fault => "#d98a00",
        }
    }
}

/// One thing that happened at one time on one lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// When, from the timeline's origin.
    pub at: Duration,
    /// What.
    pub kind: MarkKind,
    /// A short label (status, error type); shown in the tooltip, and beside heads and ends.
    pub note: Option<String>,
}

impl Mark {
    /// A mark without a note.
    pub fn new(at: Duration, kind: MarkKind) -> Self {
        Self { at, kind, note: None }
    }

    /// A mark with a note.
    pub fn noted(at: Duration, kind: MarkKind, note: impl Into<String>) -> Self {
        Self { at, kind, note: Some(note.into()) }
    }
}

/// One side of the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// Its name, drawn on the left (`client`, `runtime`).
    pub name: String,
    /// Its marks, in any order.
    pub marks: Vec<Mark>,
}

impl Lane {
    /// An empty lane.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), marks: Vec::new() }
    }

    /// Adds a mark (builder style).
    pub fn mark(mut self, mark: Mark) -> Self {
        self.marks.push(mark);
        self
    }

    fn chunks(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        self.marks.iter().filter_map(|m| match m.kind {
            MarkKind::Chunk { bytes } => Some((m.at, bytes)),
            _ => None,
        })
    }

    fn first(&self, kind: fn(MarkKind) -> bool) -> Option<Duration> {
        self.marks.iter().filter(|m| kind(m.kind)).map(|m| m.at).min()
    }
}

/// Lanes on one time axis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The lanes, top to bottom.
    pub lanes: Vec<Lane>,
}

impl Timeline {
    /// A timeline of these lanes.
    pub fn new(lanes: Vec<Lane>) -> Self {
        Self { lanes }
    }

    /// The two legs of a recorded invocation, from the moment its request arrived: the client
    /// lane (request, head with its status, each chunk sent, the end, cut or disconnect) and the
    /// runtime lane (`/next`, the answer's head, each chunk received, the end or the error, and
    /// the faults).
    pub fn from_record(record: &InvocationRecord) -> Self {
        let origin = record.client.received_at.unwrap_or_default();
        let at = |t: Duration| t.saturating_sub(origin);

        let mut client = Lane::new("client");
        if let Some(t) = record.client.received_at {
            client.marks.push(Mark::noted(at(t), MarkKind::Request, record.front_end.name()));
        }
        if let Some(t) = record.client.head_at {
            let status = record.client.status.map(|s| s.to_string()).unwrap_or_default();
            client.marks.push(Mark::noted(at(t), MarkKind::Head, status));
        }
        client.marks.extend(record.client.chunks.iter().map(|c| Mark::new(at(c.at), chunk(c.len))));
        if let Some((t, end)) = &record.client.end {
            client.marks.push(match end {
                ClientEnd::Completed => Mark::noted(at(*t), MarkKind::End, "end"),
                ClientEnd::Aborted { reason } => Mark::noted(at(*t), MarkKind::Abort, format!("cut: {reason}")),
                ClientEnd::Disconnected => Mark::noted(at(*t), MarkKind::Abort, "client went away"),
            });
        }

        let mut runtime = Lane::new("runtime");
        if let Some(t) = record.runtime.taken_at {
            runtime.marks.push(Mark::noted(at(t), MarkKind::Taken, "/next"));
        }
        if let Some(t) = record.runtime.head_at {
            let what = if record.error().is_some_and(|e| e.origin == ErrorOrigin::ErrorEndpoint) {
                "/error"
            } else if record.runtime.streaming {
                "/response (streaming)"
            } else {
                "/response (buffered)"
            };
            runtime.marks.push(Mark::noted(at(t), MarkKind::Head, what));
        }
        runtime.marks.extend(record.runtime.chunks.iter().map(|c| Mark::new(at(c.at), chunk(c.len))));
        if let Some(t) = record.runtime.ended_at {
            runtime.marks.push(match record.error() {
                Some(e) => Mark::noted(at(t), MarkKind::Error, &e.error_type),
                None => Mark::noted(at(t), MarkKind::End, "end"),
            });
        }
        runtime.marks.extend(
            record
                .faults
                .iter()
                .map(|f| Mark::noted(at(f.at), MarkKind::Fault, format!("{:?}: {}", f.kind, f.message))),
        );
        Self::new(vec![client, runtime])
    }

    /// The time of the last mark (at least 1 ms, so an empty timeline still has an axis).
    pub fn span(&self) -> Duration {
        self.lanes
            .iter()
            .flat_map(|l| l.marks.iter().map(|m| m.at))
            .max()
            .unwrap_or_default()
            .max(Duration::from_millis(1))
    }

    /// The timeline as a standalone `<svg>` element (see the module doc for its classes).
    pub fn to_svg(&self) -> String {
        let span = self.span().as_secs_f64() * 1.04;
        let x = |t: Duration| LEFT + t.as_secs_f64() / span * (WIDTH - LEFT - RIGHT);
        let max_bytes = self.lanes.iter().flat_map(Lane::chunks).map(|(_, b)| b).max().unwrap_or(1).max(1);
        let height = TOP + LANE * self.lanes.len() as f64 + AXIS;
        let chunk_total: usize = self.lanes.iter().map(|l| l.chunks().count()).sum();

        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" font-family="sans-serif" font-size="11" data-lanes="{}" data-chunks="{chunk_total}"><title>{}</title>"#,
            self.lanes.len(),
            escape(&format!("timeline: {} lane(s), {chunk_total} chunk(s), {}", self.lanes.len(), ms(self.span())))
        );
        for (i, lane) in self.lanes.iter().enumerate() {
            let top = TOP + LANE * i as f64;
            let base = top + LANE - 14.0;
            let _ = write!(
                svg,
                r##"<g class="lane" data-lane="{name}"><text x="8" y="{ty}" fill="#333" font-weight="bold">{name}</text><line x1="{LEFT}" y1="{base}" x2="{x2}" y2="{base}" stroke="#bbb"/>"##,
                name = escape(&lane.name),
                ty = base - 4.0,
                x2 = WIDTH - RIGHT,
            );
            if i == 0 {
                draw_ttfb(&mut svg, lane, base, &x);
            }
            draw_gaps(&mut svg, lane, base, &x, span);
            let mut chunk_no = 0;
            let mut marks: Vec<&Mark> = lane.marks.iter().collect();
            marks.sort_by_key(|m| m.at);
            for mark in marks {
                if matches!(mark.kind, MarkKind::Chunk { .. }) {
                    chunk_no += 1;
                }
                draw_mark(&mut svg, mark, chunk_no, base, x(mark.at), max_bytes);
            }
            svg.push_str("</g>");
        }
        draw_axis(&mut svg, TOP + LANE * self.lanes.len() as f64, span, &x);
        svg.push_str("</svg>");
        svg
    }
}

fn chunk(len: usize) -> MarkKind {
    MarkKind::Chunk { bytes: len as u64 }
}

fn draw_mark(svg: &mut String, mark: &Mark, chunk_no: usize, base: f64, x: f64, max_bytes: u64) {
    let class = mark.kind.class();
    let colour = mark.kind.colour();
    let when = ms(mark.at);
    let note = mark.note.as_deref().unwrap_or("");
    match mark.kind {
        MarkKind::Chunk { bytes } => {
            let h = MIN_BAR + (MAX_BAR - MIN_BAR) * (bytes as f64 / max_bytes as f64).sqrt();
            let _ = write!(
                svg,
                r#"<rect class="mark chunk" data-bytes="{bytes}" x="{:.1}" y="{:.1}" width="3" height="{h:.1}" fill="{colour}" fill-opacity="0.8"><title>chunk {chunk_no}: {bytes} bytes at {when}</title></rect>"#,
                x - 1.5,
                base - h,
            );
        }
        MarkKind::Request | MarkKind::Taken => {
            let _ = write!(
                svg,
                r#"<path class="mark {class}" d="M{:.1} {:.1} l5 -8 l-10 0 z" fill="{colour}"><title>{} at {when}</title></path>"#,
                x,
                base,
                escape(&format!("{class} {note}")),
            );
        }
        MarkKind::Head => {
            let _ = write!(
                svg,
                r#"<g class="mark head"><path d="M{x:.1} {:.1} l5 5 l-5 5 l-5 -5 z" fill="{colour}"/><text x="{:.1}" y="{:.1}" fill="{colour}">{}</text><title>{} at {when}</title></g>"#,
                base - 10.0,
                x + 6.0,
                base - 14.0,
                escape(&shorten(note, 24)),
                escape(&format!("head {note}")),
            );
        }
        MarkKind::End | MarkKind::Abort | MarkKind::Error | MarkKind::Fault => {
            let _ = write!(
                svg,
                r#"<g class="mark {class}"><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="{colour}" text-anchor="end">{}</text><title>{} at {when}</title></g>"#,
                base - 40.0,
                base + 4.0,
                x - 3.0,
                base - 42.0,
                escape(&shorten(note, 32)),
                escape(&format!("{class}: {note}")),
            );
        }
    }
}

/// A bracket above the lane from its first mark (the request) to its first chunk.
fn draw_ttfb(svg: &mut String, lane: &Lane, base: f64, x: &impl Fn(Duration) -> f64) {
    let start = lane.first(|k| matches!(k, MarkKind::Request));
    let first_byte = lane.first(|k| matches!(k, MarkKind::Chunk { .. }));
    let (Some(start), Some(first_byte)) = (start, first_byte) else { return };
    let (x1, x2) = (x(start), x(first_byte));
    let y = base - MAX_BAR - 10.0;
    let ttfb = first_byte.saturating_sub(start);
    let _ = write!(
        svg,
        r##"<g class="ttfb" data-ms="{:.3}"><path d="M{x1:.1} {:.1} V{y:.1} H{x2:.1} V{:.1}" fill="none" stroke="#2f6fd6" stroke-dasharray="3 2"/><text x="{:.1}" y="{:.1}" fill="#2f6fd6">TTFB {}</text><title>time to first byte: {}</title></g>"##,
        ttfb.as_secs_f64() * 1000.0,
        y + 4.0,
        y + 4.0,
        x1 + 2.0,
        y - 3.0,
        ms(ttfb),
        ms(ttfb),
    );
}

/// Labels the longest pauses between consecutive chunks (those over a tenth of the span).
fn draw_gaps(svg: &mut String, lane: &Lane, base: f64, x: &impl Fn(Duration) -> f64, span: f64) {
    let mut times: Vec<Duration> = lane.chunks().map(|(t, _)| t).collect();
    times.sort();
    let mut gaps: Vec<(Duration, Duration)> =
        times.windows(2).map(|w| (w[0], w[1])).filter(|(a, b)| (*b - *a).as_secs_f64() >= span / 10.0).collect();
    gaps.sort_by_key(|(a, b)| std::cmp::Reverse(*b - *a));
    for (a, b) in gaps.into_iter().take(MAX_GAP_LABELS) {
        let (x1, x2) = (x(a), x(b));
        let y = base + 9.0;
        let _ = write!(
            svg,
            r##"<g class="gap" data-ms="{:.3}"><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#888" stroke-dasharray="2 2"/><text x="{:.1}" y="{:.1}" fill="#666" text-anchor="middle" font-size="10">{}</text><title>gap of {} between chunks</title></g>"##,
            (b - a).as_secs_f64() * 1000.0,
            x1 + 2.0,
            x2 - 2.0,
            (x1 + x2) / 2.0,
            y - 2.0,
            ms(b - a),
            ms(b - a),
        );
    }
}

fn draw_axis(svg: &mut String, top: f64, span: f64, x: &impl Fn(Duration) -> f64) {
    let step = nice_step(span / 6.0);
    let _ = write!(
        svg,
        r##"<g class="axis"><line x1="{LEFT}" y1="{top}" x2="{}" y2="{top}" stroke="#666"/>"##,
        WIDTH - RIGHT
    );
    let mut t = 0.0;
    while t <= span + 1e-12 {
        let d = Duration::from_secs_f64(t);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{}" stroke="#666"/><text x="{x:.1}" y="{}" fill="#444" text-anchor="middle">{}</text>"##,
            top + 4.0,
            top + 16.0,
            ms(d),
            x = x(d),
        );
        t += step;
    }
    svg.push_str("</g>");
}

/// 1, 2 or 5 times a power of ten, at least `raw` seconds.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-6);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power)
}

/// A duration for people: `0.42 ms`, `12 ms`, `1.25 s`.
pub fn ms(d: Duration) -> String {
    let millis = d.as_secs_f64() * 1000.0;
    if millis >= 1000.0 {
        format!("{:.2} s", millis / 1000.0)
    } else if millis >= 10.0 {
        format!("{millis:.0} ms")
    } else {
        format!("{millis:.2} ms")
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Escapes text for XML and HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0; a payload may hold them.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn every_chunk_is_a_bar_sized_by_its_bytes_and_the_ttfb_and_long_gaps_are_drawn() {
        let client = Lane::new("client")
            .mark(Mark::new(millis(0), MarkKind::Request))
            .mark(Mark::noted(millis(5), MarkKind::Head, "200"))
            .mark(Mark::new(millis(10), MarkKind::Chunk { bytes: 10 }))
            .mark(Mark::new(millis(510), MarkKind::Chunk { bytes: 1000 }))
            .mark(Mark::new(millis(520), MarkKind::Chunk { bytes: 10 }))
            .mark(Mark::noted(millis(530), MarkKind::End, "end"));
        let runtime = Lane::new("runtime").mark(Mark::new(millis(9), MarkKind::Chunk { bytes: 10 }));
        let svg = Timeline::new(vec![client, runtime]).to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(count(&svg, r#"class="mark chunk""#), 4);
        assert!(svg.contains(r#"data-chunks="4""#) && svg.contains(r#"data-lanes="2""#));
        assert_eq!(count(&svg, r#"class="ttfb""#), 1, "TTFB on the first lane only");
        assert!(svg.contains("TTFB 10 ms"), "{svg}");
        assert_eq!(count(&svg, r#"class="gap""#), 1, "only the 500 ms pause is long: {svg}");
        assert!(svg.contains("gap of 500 ms"));
        // The 1000-byte chunk is the tallest bar; the 10-byte ones are short.
        let heights: Vec<f64> = svg
            .split(r#"class="mark chunk""#)
            .skip(1)
            .map(|s| s.split("height=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(heights.iter().cloned().fold(0.0, f64::max), MAX_BAR);
        assert!(heights[0] < 10.0, "{heights:?}");
    }

    /// Where things are drawn: time runs from `LEFT` (0) to 1/1.04 of the plot's width (the last
    /// mark), each lane sits `LANE` below the one before with its bars standing on its base line,
    /// and the axis is under the last lane.
    #[test]
    fn marks_are_placed_by_time_and_lane() {
        let first = Lane::new("client")
            .mark(Mark::new(millis(0), MarkKind::Request))
            .mark(Mark::new(millis(0), MarkKind::Chunk { bytes: 10 }));
        let second = Lane::new("runtime").mark(Mark::new(millis(400), MarkKind::Chunk { bytes: 10 }));
        let svg = Timeline::new(vec![first, second]).to_svg();
        let attr = |rect: &str, name: &str| -> f64 {
            rect.split(&format!(" {name}=\"")).nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
        };
        let rects: Vec<&str> = svg.split(r#"<rect class="mark chunk""#).skip(1).collect();
        assert_eq!(rects.len(), 2, "{svg}");
        let close = |a: f64, b: f64| (a - b).abs() < 0.06;
        let plot = WIDTH - LEFT - RIGHT;
        // Bars are 3 wide, centred on their time.
        assert!(close(attr(rects[0], "x"), LEFT - 1.5), "{}", rects[0]);
        assert!(close(attr(rects[1], "x"), LEFT + plot / 1.04 - 1.5), "{}", rects[1]);
        for (lane, rect) in rects.iter().enumerate() {
            let base = TOP + LANE * lane as f64 + LANE - 14.0;
            assert!(close(attr(rect, "y") + attr(rect, "height"), base), "lane {lane}: {rect}");
        }
        let axis = TOP + LANE * 2.0;
        assert!(svg.contains(&format!(r#"<g class="axis"><line x1="{LEFT}" y1="{axis}""#)), "{svg}");
        assert!(svg.contains(&format!(r#"viewBox="0 0 {WIDTH} {}""#, axis + AXIS)), "{svg}");
        // The TTFB bracket runs above the tallest bar of the first lane.
        let bracket = format!(" V{:.1} ", TOP + LANE - 14.0 - MAX_BAR - 10.0);
        assert!(svg.split(r#"<g class="ttfb""#).nth(1).is_some_and(|g| g.contains(&bracket)), "{bracket}: {svg}");
        // About six steps across: 416 ms of axis in round steps of 100 ms, 0 to 400.
        let ticks: Vec<&str> =
            svg.split(r#"text-anchor="middle">"#).skip(1).map(|t| t.split('<').next().unwrap()).collect();
        assert_eq!(ticks, ["0.00 ms", "100 ms", "200 ms", "300 ms", "400 ms"]);
    }

    /// Each kind of mark is drawn in its own colour (a reader tells an abort from an end by it),
    /// and a long pause's label hangs just under the lane's base line.
    #[test]
    fn marks_are_coloured_by_kind_and_gap_labels_sit_under_their_lane() {
        let lane = Lane::new("client")
            .mark(Mark::new(millis(0), MarkKind::Request))
            .mark(Mark::noted(millis(1), MarkKind::Head, "200"))
            .mark(Mark::new(millis(2), MarkKind::Chunk { bytes: 1 }))
            .mark(Mark::new(millis(900), MarkKind::Chunk { bytes: 1 }))
            .mark(Mark::noted(millis(950), MarkKind::Fault, "f"))
            .mark(Mark::noted(millis(1000), MarkKind::Abort, "cut"));
        let second = Lane::new("runtime")
            .mark(Mark::new(millis(0), MarkKind::Chunk { bytes: 1 }))
            .mark(Mark::new(millis(800), MarkKind::Chunk { bytes: 1 }))
            .mark(Mark::noted(millis(990), MarkKind::End, "end"));
        let svg = Timeline::new(vec![lane, second]).to_svg();
        let element = |class: &str| -> &str {
            let from = svg.find(&format!(r#"class="{class}""#)).unwrap_or_else(|| panic!("{class}: {svg}"));
            &svg[from..from + svg[from..].find("<title>").unwrap()]
        };
        for (class, colour) in [
            ("mark request", "#5b6b7f"),
            ("mark head", "#7a4fbf"),
            ("mark chunk", "#2f6fd6"),
            ("mark end", "#1f8a4c"),
            ("mark abort", "#c8302c"),
            ("mark fault", "#d98a00"),
        ] {
            assert!(element(class).contains(&format!(r#"="{colour}""#)), "{class} in {colour}: {}", element(class));
        }
        // One gap per lane (each pause is over a tenth of the span), on the line 9 below its base.
        let gaps: Vec<f64> = svg
            .split(r#"<g class="gap""#)
            .skip(1)
            .map(|g| g.split(" y1=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        let bases: Vec<f64> = (0..2).map(|lane| TOP + LANE * lane as f64 + LANE - 14.0).collect();
        assert_eq!(gaps, [bases[0] + 9.0, bases[1] + 9.0], "{svg}");
    }

    /// The runtime lane names how the function answered: `/error` for an error document only,
    /// not for an error its trailers reported after a streamed body; chunks are numbered in
    /// order.
    #[test]
    fn a_record_s_runtime_lane_names_the_answer_and_numbers_its_chunks() {
        use crate::invocation::{FrontEnd, InvocationError};
        use crate::recorder::Recorder;
        let recorder = Recorder::new(16, 64);
        let error = |origin| InvocationError { origin, ..InvocationError::platform("E", "m") };
        let cases = [
            ("document", false, Some(error(ErrorOrigin::ErrorEndpoint)), "/error"),
            ("trailers", true, Some(error(ErrorOrigin::Trailers)), "/response (streaming)"),
            ("buffered", false, None, "/response (buffered)"),
        ];
        for (id, streaming, outcome, head) in cases {
            recorder.open(id, None, FrontEnd::FunctionUrl, b"{}");
            recorder.update(id, |r, at| {
                r.runtime.head_at = Some(at);
                r.runtime.streaming = streaming;
            });
            recorder.runtime_chunk(id, b"a");
            recorder.runtime_chunk(id, b"bb");
            recorder.outcome(id, outcome.map_or(Ok(()), Err));
            let svg = recorder.inspect(id, |r| Timeline::from_record(r).to_svg()).unwrap();
            assert!(svg.contains(&format!("<title>head {head} at ")), "{id}: {svg}");
            assert_eq!(count(&svg, "<title>head "), 1, "{id}: {svg}");
            assert!(svg.contains("<title>chunk 1: 1 bytes") && svg.contains("<title>chunk 2: 2 bytes"), "{svg}");
        }
    }

    /// When more pauses qualify than there is room for labels, the longest are labelled, not the
    /// latest: here four of 150 ms, then four of 110 ms (all over a tenth of the span), six labels.
    #[test]
    fn the_longest_gaps_get_the_labels() {
        let times = [0, 150, 300, 450, 600, 710, 820, 930, 1040];
        let lane = times.iter().fold(Lane::new("client"), |lane, t| lane.mark(Mark::new(millis(*t), chunk(1))));
        let svg = Timeline::new(vec![lane]).to_svg();
        assert_eq!(count(&svg, r#"class="gap""#), MAX_GAP_LABELS, "{svg}");
        assert_eq!(count(&svg, r#"class="gap" data-ms="150.000""#), 4, "{svg}");
        assert_eq!(count(&svg, r#"class="gap" data-ms="110.000""#), 2, "{svg}");
    }

    /// Notes longer than their room end in an ellipsis, counted in characters, not bytes.
    #[test]
    fn long_notes_are_shortened_by_characters() {
        assert_eq!(shorten("short", 24), "short");
        assert_eq!(shorten("exactly8", 8), "exactly8");
        assert_eq!(shorten("123456789", 8), "1234567…");
        assert_eq!(shorten("ééééééééé", 8), "ééééééé…");
        assert_eq!(shorten("abc", 0), "…");
        let lane = Lane::new("client").mark(Mark::noted(millis(1), MarkKind::Error, "x".repeat(40)));
        let svg = Timeline::new(vec![lane]).to_svg();
        assert!(svg.contains(&format!(">{}…</text>", "x".repeat(31))), "{svg}");
    }

    #[test]
    fn text_from_payloads_is_escaped() {
        let lane = Lane::new("<client>").mark(Mark::noted(millis(1), MarkKind::Error, "x\"<script>&\u{1}"));
        let svg = Timeline::new(vec![lane]).to_svg();
        assert!(!svg.contains("<script>") && !svg.contains("<client>"));
        assert!(svg.contains("&lt;script&gt;&amp;\u{FFFD}") && svg.contains("&lt;client&gt;"));
    }

    #[test]
    fn an_empty_timeline_still_draws_an_axis() {
        let svg = Timeline::default().to_svg();
        assert!(svg.contains(r#"class="axis""#) && !svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        let close = |a: f64, b: f64| (a - b).abs() < b * 1e-9;
        assert!(close(nice_step(0.0013), 0.002));
        assert!(close(nice_step(0.3), 0.5));
        assert!(close(nice_step(7.0), 10.0));
        assert_eq!(ms(millis(1250)), "1.25 s");
        assert_eq!(ms(millis(12)), "12 ms");
        assert_eq!(ms(Duration::from_micros(420)), "0.42 ms");
    }
}
