import Logging
import Synchronization

/// The log level every handler reads, so that a reload (SIGHUP) changes it for loggers made
/// before (swift-log copies a handler into each `Logger`).
public final class LogLevelBox: Sendable {
    private let level: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    public var value: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }

    /// The process's box (`main` makes the handlers with it).
    public static let shared = LogLevelBox(.info)
}

/// A handler whose level is `LogLevelBox`'s.
public struct SharedLevelLogHandler<Inner: LogHandler>: LogHandler {
    private var inner: Inner
    private let box: LogLevelBox

    public init(_ inner: Inner, box: LogLevelBox) {
        self.inner = inner
        self.box = box
    }

    public var logLevel: Logger.Level {
        get { box.value }
        set { box.value = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var copy = inner
        copy.logLevel = .trace   // the box decided already
        copy.log(level: level, message: message, metadata: metadata, source: source, file: file, function: function, line: line)
    }
}
