/// The scripted model's prose: reasoning and answers that are unique per response and full of
/// what breaks careless JSON and SSE code — CJK, emoji, quotes, backslashes, newlines, tabs,
/// combining marks (NFC and NFD spellings that `String ==` would confuse), literal `\u` text.
enum ReasoningText {
    static let sentences = [
        #"Let me think about this step by step, starting with what the user "really" wants."#,
        "用户想知道结果，我需要先理清思路，然后再回答。",
        #"Checking the path C:\Users\sim\notes.txt before going on; a trailing backslash \"#,
        "Emoji check: 🤔💡🚀 and a family 👩‍👩‍👧 and a flag 🇨🇳.",
        "A tab\there, and a quote ' plus a \"double quote\" inside.",
        "日本語のテキストも少し混ぜます。한국어 문장도 하나.",
        "Math: 2 < 3 && 5 > 4; regex ^\\d+\\.\\d*$ should not be touched.",
        #"Written literally: \u5317 is six characters, not 北."#,
        #"JSON inside reasoning: {"key": [1, 2, "三"], "ok": true}"#,
        "Combining marks: e\u{301} (NFD) is not the same bytes as \u{E9} (NFC).",
        "Line one of a list:\n- item α\n- item β\n- item γ",
        "Windows line end here\r\nand a form feed \u{0C} and a bell-free control \u{01} char.",
        "Arabic و Hebrew ש and Devanagari नमस्ते in one line.",
        "data: this line looks like SSE but sits inside JSON.\n\ndata: [DONE] is not the end either.",
    ]

    /// Two runs of twelve astral characters (U+1F600, U+1F914) around one BMP character, 北.
    /// The runs start an odd number of UTF-16 units apart, so cutting every N units, wherever
    /// the line starts, splits a surrogate pair in one of them for every N up to 12 (the
    /// default fragment size) and every even N up to 22.
    static let astralLine = "Astral: " + String(repeating: "😀", count: 12) + "北" + String(repeating: "🤔", count: 12)

    /// Reasoning for response number `serial`: a header naming the serial (so no two responses
    /// share their reasoning), with `astral` the ``astralLine``, the `topic`, then sentences
    /// until about `length` characters.
    static func reasoning(
        serial: Int, seed: UInt64, topic: String, length: Int, astral: Bool = false, rng: inout SplitMix64
    ) -> String {
        var s = "Reasoning #\(serial) (seed \(seed)): 思考 🤔 \"quoted\" and a backslash \\ here.\n"
        if astral { s += astralLine + "\n" }
        s += topic
        var count = s.count   // counted as it grows: String.count is O(n)
        while count < length {
            let gap = rng.below(3) == 0 ? "\n\n" : "\n"
            let sentence = sentences[rng.below(sentences.count)]
            s += gap
            s += sentence
            count += gap.count + sentence.count
        }
        return s
    }

    /// A final answer for response number `serial`.
    static func answer(serial: Int, toolResults: Int, rng: inout SplitMix64) -> String {
        let openers = [
            "Here is the answer", "完成了", "Done ✅", #"The "result" is ready"#,
        ]
        var s = "\(openers[rng.below(openers.count)]) (#\(serial))"
        if toolResults > 0 { s += ", based on \(toolResults) tool result\(toolResults == 1 ? "" : "s")" }
        s += ": 北京 ☀️ 25°C — path C:\\sim\\out.txt.\n"
        s += sentences[rng.below(sentences.count)]
        return s
    }
}
