import Logging
import ThinkbackCore
#if canImport(Glibc)
import Glibc
#endif

/// swift-log's handler for `--log-format json`: one JSON object per line on standard error,
/// `{"ts":…,"level":…,"label":…,"msg":…, metadata…}` (metadata values as strings), written with
/// one `write(2)` so lines from the loop and the checkpointer thread never interleave.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var all = metadata
        if let explicit { all.merge(explicit) { $1 } }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += Array(#"{"ts":"#.utf8)
        JSONText.appendString(Self.timestamp(), to: &out)
        out += Array(#","level":"#.utf8)
        JSONText.appendString(level.rawValue, to: &out)
        out += Array(#","label":"#.utf8)
        JSONText.appendString(label, to: &out)
        out += Array(#","msg":"#.utf8)
        JSONText.appendString(message.description, to: &out)
        for key in all.keys.sorted() where !["ts", "level", "label", "msg"].contains(key) {
            out.append(UInt8(ascii: ","))
            JSONText.appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendString(all[key].map { "\($0)" } ?? "", to: &out)
        }
        out += Array("}\n".utf8)
        out.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
    }

    /// `2026-12-04T21:35:15+0000`, local time, as the text handler writes it.
    static func timestamp() -> String {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let n = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: text.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
