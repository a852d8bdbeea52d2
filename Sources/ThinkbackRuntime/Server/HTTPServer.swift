import CLibEvent
import ThinkbackCore

/// The inbound HTTP server (evhttp) on the loop. Every request reaches `handler` once, as an
/// `InboundRequest` that must be answered exactly once (or abandoned when its client leaves).
public final class HTTPServer {
    public struct Options {
        public var host: String
        public var port: UInt16
        public var maxBodyBytes: Int
        public var maxHeaderBytes: Int
        public var idleTimeoutSeconds: Int
        /// A request head must arrive within this: from the accept for a connection's first,
        /// from its first byte for later ones (0: no bound).
        public var headerTimeoutSeconds: Int
        /// A request body may pause at most this long between two reads (0: no bound).
        public var bodyTimeoutSeconds: Int
        /// The body of the 400 for a request refused before it is read whole (a NUL in its
        /// head, bad chunked framing).
        public var rejectBody: [UInt8]
        /// A listening socket to serve (systemd socket activation) instead of binding
        /// host:port.
        public var listenDescriptor: Int32?
        public init(host: String, port: UInt16, maxBodyBytes: Int = 32 << 20,
                    maxHeaderBytes: Int = 64 << 10, idleTimeoutSeconds: Int = 120, headerTimeoutSeconds: Int = 10,
                    bodyTimeoutSeconds: Int = 30,
                    rejectBody: [UInt8] = ProxyError.badRequest("a NUL in the request head, or bad chunked framing").openAIBody) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.headerTimeoutSeconds = headerTimeoutSeconds
            self.bodyTimeoutSeconds = bodyTimeoutSeconds
            self.rejectBody = rejectBody
        }
    }

    private var raw: OpaquePointer?
    private let handler: (InboundRequest) -> Void
    public let loop: EventLoop
    /// The bound port (the one asked for, or the one the kernel picked for port 0).
    public private(set) var port: UInt16 = 0

    public init(loop: EventLoop, options: Options, handler: @escaping (InboundRequest) -> Void) throws {
        self.loop = loop
        self.handler = handler
        var err = [CChar](repeating: 0, count: 256)
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let server = options.host.withCString { host -> OpaquePointer? in
            options.rejectBody.withUnsafeBufferPointer { reject -> OpaquePointer? in
                var o = cle_server_options(address: host, port: options.port,
                                           max_body_bytes: Int64(options.maxBodyBytes),
                                           max_header_bytes: Int64(options.maxHeaderBytes),
                                           idle_timeout_seconds: Int32(options.idleTimeoutSeconds),
                                           header_timeout_seconds: Int32(options.headerTimeoutSeconds),
                                           body_timeout_seconds: Int32(options.bodyTimeoutSeconds),
                                           reject_body: reject.baseAddress, reject_body_len: reject.count,
                                           on_accept_paused: { ctx in
                                               Unmanaged<HTTPServer>.fromOpaque(ctx!).takeUnretainedValue().onAcceptPaused?()
                                           },
                                           listen_fd: options.listenDescriptor ?? -1)
                return cle_server_new(loop.raw, &o, { exchange, ctx in
                    let server = Unmanaged<HTTPServer>.fromOpaque(ctx!).takeUnretainedValue()
                    server.handler(InboundRequest(exchange))
                }, ctx, &err, err.count)
            }
        }
        guard let server else {
            throw RuntimeError(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        raw = server
        port = cle_server_port(server)
    }

    deinit { if let raw { cle_server_free(raw) } }

    /// Stops accepting connections; open ones are still served (drain).
    public func stopListening() { if let raw { cle_server_stop_listening(raw) } }

    /// Requests whose reply has not yet fully reached the client's socket.
    public var unfinishedReplies: Int { raw.map { Int(cle_server_unfinished($0)) } ?? 0 }

    /// Called when accept() failed (typically at the descriptor limit) and accepting paused
    /// for 100 ms.
    public var onAcceptPaused: (() -> Void)?

    /// Times accepting paused after a failed accept().
    public var acceptPauses: Int { raw.map { Int(cle_server_accept_pauses($0)) } ?? 0 }

    /// Stream bytes queued for all clients and not yet written to their sockets.
    public var streamQueuedBytes: Int { raw.map { Int(cle_server_stream_queued_bytes($0)) } ?? 0 }
}
