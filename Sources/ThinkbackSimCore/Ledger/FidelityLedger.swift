import ThinkbackCore

/// What a history assistant message looks like to the ledger, whatever the wire format.
struct HistoryTurn {
    var index: Int
    /// The digest of the messages before it (``ConversationDigest``).
    var place: SHA256Digest
    var reasoning: ReasoningField
    var calls: [HistoryCall]
    var text: String
}

/// The fidelity ledger: per tenant, the reasoning the simulator issued, and the classification
/// of every history assistant message.
///
/// Each answer is recorded at its place: the digest of the request's messages (the conversation
/// before the answer) and its content key (tool names plus canonical arguments, or the trimmed
/// text of an answer without calls). A history message found at its own place is `exact` only
/// with the reasoning issued there, whatever look-alikes other rounds have. Only when nothing
/// was issued at that place (the history before it was changed) does the ledger fall back to
/// the normalised tool-call ids (non-alphanumerics removed, product.md §1) and the content key,
/// and then it calls a message `exact` only when every answer they find carries the reasoning
/// sent: look-alikes with other reasoning cannot be told apart (KNOBS.md, "Ledger").
struct FidelityLedger {
    private struct Record {
        var tenant: String
        var reasoning: [UInt8]
        var idKeys: [String]
        var contentKey: String
        var place: Place
    }

    /// An answer's place: its tenant-scoped content key and the digest of what preceded it.
    private struct Place: Hashable {
        var contentKey: String
        var prefix: SHA256Digest
    }

    private let capacity: Int
    private let placeholderTexts: Set<[UInt8]>
    private var records: [Int: Record] = [:]
    private var nextRecord = 0
    private var oldestRecord = 0
    // Every index keeps all its records, oldest first: a key may name several answers.
    private var byPlace: [Place: [Int]] = [:]
    private var byID: [String: [Int]] = [:]
    private var byContent: [String: [Int]] = [:]
    /// Reasoning bytes → tenants it was issued to, with how many live records each.
    private var byReasoning: [[UInt8]: [String: Int]] = [:]

    private(set) var toolCallTotals = LedgerCounts()
    private(set) var plainTotals = LedgerCounts()
    private(set) var toolCallByTenant: [String: LedgerCounts] = [:]
    private(set) var plainByTenant: [String: LedgerCounts] = [:]
    private(set) var lastVerdicts: [String: [LedgerVerdict]] = [:]

    init(capacity: Int, placeholderTexts: [String]) {
        self.capacity = capacity
        self.placeholderTexts = Set(placeholderTexts.map { Array($0.utf8) })
    }

    /// How many issued responses are remembered.
    var issuedCount: Int { records.count }

    static func normalizedID(_ id: String) -> String {
        String(String.UnicodeScalarView(id.unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil }))
    }

    static func contentKey(calls: [HistoryCall], text: String) -> String {
        if calls.isEmpty { return "text\u{1}" + text.trimmingWhitespace }
        return "calls\u{1}" + calls.map { $0.name + "\u{2}" + $0.canonicalArguments }.joined(separator: "\u{3}")
    }

    private static func key(_ tenant: String, _ k: String) -> String { tenant + "\u{0}" + k }

    /// The tenant-scoped normalised ids of `calls`, each once, in order.
    private static func idKeys(_ tenant: String, _ calls: [HistoryCall]) -> [String] {
        var seen: Set<String> = []
        return calls.map { key(tenant, normalizedID($0.id)) }.filter { seen.insert($0).inserted }
    }

    /// Remembers the reasoning issued to `tenant` at `place` (the digest of the request's
    /// messages) for a response with `calls` (ids as issued) or, without calls, with answer
    /// `text`. Thinking off is remembered as `""` (product.md §1).
    mutating func record(tenant: String, place: SHA256Digest, reasoning: String?, calls: [HistoryCall], text: String) {
        let bytes = Array((reasoning ?? "").utf8)
        let id = nextRecord
        nextRecord += 1
        let contentKey = Self.key(tenant, Self.contentKey(calls: calls, text: text))
        let record = Record(
            tenant: tenant, reasoning: bytes, idKeys: Self.idKeys(tenant, calls), contentKey: contentKey,
            place: Place(contentKey: contentKey, prefix: place))
        records[id] = record
        byPlace[record.place, default: []].append(id)
        byContent[contentKey, default: []].append(id)
        for k in record.idKeys { byID[k, default: []].append(id) }
        if !bytes.isEmpty { byReasoning[bytes, default: [:]][tenant, default: 0] += 1 }
        while records.count > capacity { evictOldest() }
    }

    private mutating func evictOldest() {
        while records[oldestRecord] == nil, oldestRecord < nextRecord { oldestRecord += 1 }
        let id = oldestRecord
        guard let r = records.removeValue(forKey: id) else { return }
        Self.remove(id, from: &byPlace, at: r.place)
        Self.remove(id, from: &byContent, at: r.contentKey)
        for k in r.idKeys { Self.remove(id, from: &byID, at: k) }
        if !r.reasoning.isEmpty, var tenants = byReasoning[r.reasoning] {
            tenants[r.tenant, default: 1] -= 1
            if tenants[r.tenant] == 0 { tenants[r.tenant] = nil }
            byReasoning[r.reasoning] = tenants.isEmpty ? nil : tenants
        }
        oldestRecord += 1
    }

    private static func remove<K: Hashable>(_ id: Int, from index: inout [K: [Int]], at key: K) {
        guard var ids = index[key] else { return }
        ids.removeAll { $0 == id }
        index[key] = ids.isEmpty ? nil : ids
    }

    /// Classifies every assistant message of one request of `tenant` and adds to the totals.
    mutating func classify(tenant: String, turns: [HistoryTurn]) {
        var verdicts: [LedgerVerdict] = []
        for turn in turns {
            let textualized = turn.calls.isEmpty && turn.text.contains(SimText.textualizedCallMarker)
            let hasCalls = !turn.calls.isEmpty || textualized
            let category = textualized ? .textualized : classify(tenant: tenant, turn: turn)
            verdicts.append(LedgerVerdict(index: turn.index, category: category, toolCalls: hasCalls))
            if hasCalls {
                toolCallTotals.add(category)
                toolCallByTenant[tenant, default: LedgerCounts()].add(category)
            } else {
                plainTotals.add(category)
                plainByTenant[tenant, default: LedgerCounts()].add(category)
            }
        }
        lastVerdicts[tenant] = verdicts
    }

    private func classify(tenant: String, turn: HistoryTurn) -> LedgerCategory {
        let sent: [UInt8]
        switch turn.reasoning {
        case .absent, .null: return .missing
        case .opaque: return .wrong
        case .text(let s): sent = Array(s.utf8)
        }
        if isIssued(sent, tenant: tenant, turn: turn) { return .exact }
        if let s = String(validating: sent, as: UTF8.self), SimText.isBlank(s) || placeholderTexts.contains(sent) {
            return .placeholder
        }
        if let tenants = byReasoning[sent], tenants.keys.contains(where: { $0 != tenant }) { return .foreign }
        return .wrong
    }

    /// Whether `sent` is the reasoning issued to `tenant` for this very message.
    private func isIssued(_ sent: [UInt8], tenant: String, turn: HistoryTurn) -> Bool {
        let contentKey = Self.key(tenant, Self.contentKey(calls: turn.calls, text: turn.text))
        let ids = Self.idKeys(tenant, turn.calls)
        if let here = byPlace[Place(contentKey: contentKey, prefix: turn.place)] {
            // Several answers here means the same request was answered more than once with this
            // very content: alternatives of one message, not other rounds' look-alikes.
            return narrowed(here, to: ids).contains { records[$0]?.reasoning == sent }
        }
        var candidates = byContent[contentKey] ?? []
        if candidates.isEmpty {
            var seen: Set<Int> = []
            candidates = ids.flatMap { byID[$0] ?? [] }.filter { seen.insert($0).inserted }
        }
        // Look-alikes with other reasoning make the message's own reasoning unknowable: never
        // `exact`, since the text sent may be another round's (identical thinking-off answers,
        // all `""`, stay exact).
        let found = narrowed(candidates, to: ids)
        return !found.isEmpty && found.allSatisfy { records[$0]?.reasoning == sent }
    }

    /// Those of `candidates` issued with exactly these ids, when any was; else all of them (a
    /// client that renumbers ids leaves nothing to narrow by).
    private func narrowed(_ candidates: [Int], to ids: [String]) -> [Int] {
        guard !ids.isEmpty else { return candidates }
        let same = candidates.filter { records[$0]?.idKeys == ids }
        return same.isEmpty ? candidates : same
    }

    /// Clears the totals; with `forgetIssued`, the issued reasoning too.
    mutating func reset(forgetIssued: Bool) {
        toolCallTotals = LedgerCounts()
        plainTotals = LedgerCounts()
        toolCallByTenant = [:]
        plainByTenant = [:]
        lastVerdicts = [:]
        if forgetIssued {
            records = [:]
            byPlace = [:]
            byID = [:]
            byContent = [:]
            byReasoning = [:]
            oldestRecord = nextRecord
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
