//! Policy texts written in Markdown, rendered without any way to inject
//! markup: raw HTML is shown as text, links may only go to web pages, mail
//! addresses or this site, and images become plain links.
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#')
}

/// The HTML of a Markdown text, safe to place in a page as it is.
pub fn render(text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(text, options).map(|event| match event {
        // Markup typed into a policy is text, never markup.
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::from("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        // Images would load from elsewhere: show them as links instead.
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::from("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markup_is_text() {
        let html = render("# Policy\n\n<script>alert(1)</script>\n\nHello <b onclick=x>you</b>");
        assert!(html.contains("<h1>Policy</h1>"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b onclick"), "{html}");
    }

    #[test]
    fn only_safe_links() {
        let html = render("[a](javascript:alert(1)) [b](https://example.com) [c](data:text/html,x) ![i](http://evil.example/x.png)");
        assert!(!html.contains("javascript:") && !html.contains("data:text"), "{html}");
        assert!(html.contains("href=\"https://example.com\""));
        assert!(!html.contains("<img"), "{html}");
    }
}
