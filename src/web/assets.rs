//! Styles and the little script there is, compiled into the binary so the
//! app works offline and from any directory.
use crate::web::routes::Routes;
use crate::error::AppError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
];

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    r.get("/static/{file}", Access::Public, asset)
}

async fn asset(crate::web::Segment(file): crate::web::Segment) -> Result<Response, AppError> {
    let (_, mime, body) = FILES.iter().find(|(name, _, _)| *name == file).ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *mime)], *body).into_response())
}

#[cfg(test)]
mod tests {
    /// The colour a CSS custom property of app.css is set to.
    fn var(css: &str, name: &str) -> (f64, f64, f64) {
        let at = css.find(&format!("--{name}: #")).unwrap_or_else(|| panic!("--{name} is not a colour in app.css")) + name.len() + 5;
        let hex: String = css[at..].chars().take_while(char::is_ascii_hexdigit).collect();
        // #abc is #aabbcc.
        let hex = if hex.len() == 3 { hex.chars().flat_map(|c| [c, c]).collect() } else { hex };
        let c = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        (c(0), c(2), c(4))
    }

    fn luminance((r, g, b): (f64, f64, f64)) -> f64 {
        let l = |c: f64| if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
        0.2126 * l(r) + 0.7152 * l(g) + 0.0722 * l(b)
    }

    fn contrast(a: (f64, f64, f64), b: (f64, f64, f64)) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// WCAG 2.2 asks focus indicators for 3:1 against what is next to them:
    /// on every background the pages use, one of the two rings has it.
    #[test]
    fn the_focus_ring_stands_out_on_every_background() {
        let css = include_str!("../../static/app.css");
        assert!(css.contains("outline: 3px solid var(--focus-ink)") && css.contains("box-shadow: 0 0 0 7px var(--focus)"), "the focus rule uses both rings");
        let rings = [var(css, "focus-ink"), var(css, "focus")];
        for bg in ["bg", "card", "brand", "ok-bg", "warn-bg", "bad-bg"] {
            let best = rings.iter().map(|r| contrast(*r, var(css, bg))).fold(0.0, f64::max);
            assert!(best >= 3.0, "focus on --{bg}: best contrast {best:.2}:1");
        }
        // The old single yellow ring on white was 1.64:1.
        assert!(contrast(var(css, "focus"), (1.0, 1.0, 1.0)) < 3.0);
    }
}
