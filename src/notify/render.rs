//! A [`Note`] in each target's own format, with its escaping rules: Telegram's HTML parse mode
//! (only `&`, `<` and `>` are special in text, and `"` in an attribute; Telegram refuses a
//! message whose entities do not parse), Discord's markdown (every markup character escaped,
//! mentions disabled), and the generic webhook's JSON. User text — notes, strategy names — thus
//! always arrives literally and never adds markup.

use serde_json::json;

use super::Note;

/// Telegram's limit on a message's text, in characters.
pub const TELEGRAM_MAX_CHARS: usize = 4_096;
/// Discord's limit on a message's content, in characters.
pub const DISCORD_MAX_CHARS: usize = 2_000;

/// `text` for Telegram's HTML parse mode.
pub fn telegram_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The `sendMessage` text of `note`, HTML parse mode: the title in bold, the link as a link.
/// Lines that do not fit Telegram's limit are left out (the title and link always fit).
pub fn telegram_html(note: &Note) -> String {
    let mut text = format!("<b>{}</b>", telegram_escape(&clip(&note.title, 512)));
    let link = note
        .url
        .as_ref()
        .map(|url| format!("\n<a href=\"{0}\">{0}</a>", telegram_escape(url)))
        .unwrap_or_default();
    for line in &note.lines {
        let line = format!("\n{}", telegram_escape(line));
        if chars(&text) + chars(&line) + chars(&link) > TELEGRAM_MAX_CHARS {
            break;
        }
        text.push_str(&line);
    }
    text.push_str(&link);
    text
}

/// `text` with every character Discord's markdown gives a meaning escaped by a backslash.
pub fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '<'
                | '#'
                | '-'
                | '['
                | ']'
                | '('
                | ')'
                | '@'
                | ':'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The incoming webhook's body for `note`: the title in bold, the link bare (Discord links
/// it), and no mention of anyone, whatever the text says.
pub fn discord_body(note: &Note) -> serde_json::Value {
    let mut content = format!("**{}**", discord_escape(&clip(&note.title, 256)));
    let link = note
        .url
        .as_ref()
        .map(|url| format!("\n<{url}>"))
        .unwrap_or_default();
    for line in &note.lines {
        let line = format!("\n{}", discord_escape(line));
        if chars(&content) + chars(&line) + chars(&link) > DISCORD_MAX_CHARS {
            break;
        }
        content.push_str(&line);
    }
    content.push_str(&link);
    json!({
        "content": content,
        "allowed_mentions": {"parse": []},
    })
}

/// The generic webhook's body: the note as stored, with its plain text.
pub fn webhook_body(note: &Note) -> serde_json::Value {
    let mut body = serde_json::to_value(note).unwrap_or_else(|_| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert("text".to_owned(), json!(note.text()));
    }
    body
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn clip(text: &str, max: usize) -> String {
    if chars(text) > max {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(line: &str) -> Note {
        Note {
            event: "trade_closed".into(),
            title: "✅ BTCUSDT LONG closed (#7): TAKE_PROFIT".into(),
            lines: vec![line.into()],
            url: Some("https://desk.example.com/trades/7?a=1&b=2".into()),
            data: json!({}),
        }
    }

    #[test]
    fn telegram_text_is_escaped_html() {
        let html = telegram_html(&note("Notes: <b>bold</b> & \"q\" </a><script>"));
        assert_eq!(
            html,
            "<b>✅ BTCUSDT LONG closed (#7): TAKE_PROFIT</b>\n\
             Notes: &lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot; &lt;/a&gt;&lt;script&gt;\n\
             <a href=\"https://desk.example.com/trades/7?a=1&amp;b=2\">\
             https://desk.example.com/trades/7?a=1&amp;b=2</a>"
        );
    }

    #[test]
    fn discord_content_escapes_markdown_and_mentions_nobody() {
        let body = discord_body(&note("Notes: **x** @everyone `y` <@123> _z_"));
        let content = body["content"].as_str().unwrap();
        assert!(content.starts_with("**✅ BTCUSDT LONG closed \\(\\#7\\)\\: TAKE\\_PROFIT**\n"));
        assert!(content.contains("Notes\\: \\*\\*x\\*\\* \\@everyone \\`y\\` \\<\\@123\\> \\_z\\_"));
        assert!(content.ends_with("\n<https://desk.example.com/trades/7?a=1&b=2>"));
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn long_messages_fit_each_limit() {
        let mut long = note("x");
        long.lines = (0..2_000).map(|i| format!("line {i} & more")).collect();
        let html = telegram_html(&long);
        assert!(html.chars().count() <= TELEGRAM_MAX_CHARS);
        assert!(html.ends_with("</a>"), "the link is kept");
        let content = discord_body(&long)["content"].as_str().unwrap().to_owned();
        assert!(content.chars().count() <= DISCORD_MAX_CHARS);
        assert!(content.ends_with("b=2>"));
    }

    #[test]
    fn the_webhook_gets_the_note_and_its_text() {
        let body = webhook_body(&note("a <b>"));
        assert_eq!(body["event"], "trade_closed");
        assert_eq!(body["lines"][0], "a <b>");
        assert!(body["text"].as_str().unwrap().contains("\na <b>\n"));
    }
}
