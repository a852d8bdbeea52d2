/// What a history assistant message looks like to the ledger, whatever the wire format.
struct HistoryTurn {
    var index: Int
    var reasoning: ReasoningField
    var calls: [HistoryCall]
    var text: String
}

/// The fidelity ledger: per tenant, the reasoning the simulator issued, indexed by tool-call
/// id and by content key, and the classification of every history assistant message.
///
/// Ids are compared normalised (non-alphanumerics removed, product.md §1) so a client that
/// drops the `_` still matches; the content key (tool names plus canonical arguments, or the
/// trimmed text of an answer without calls) finds a call whose id was renumbered.
struct FidelityLedger {
    private struct Record {
        var tenant: String
        var reasoning: [UInt8]
        var idKeys: [String]
        var contentKey: String
    }

    private let capacity: Int
    private let placeholderTexts: Set<[UInt8]>
    private var records: [Int: Record] = [:]
    private var nextRecord = 0
    private var oldestRecord = 0
    private var byID: [String: Int] = [:]
    private var byContent: [String: Int] = [:]
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

    /// Remembers the reasoning issued to `tenant` for a response with `calls` (ids as issued) or,
    /// without calls, with answer `text`. Thinking off is remembered as `""` (product.md §1).
    mutating func record(tenant: String, reasoning: String?, calls: [HistoryCall], text: String) {
        let bytes = Array((reasoning ?? "").utf8)
        let id = nextRecord
        nextRecord += 1
        let idKeys = calls.map { Self.key(tenant, Self.normalizedID($0.id)) }
        let contentKey = Self.key(tenant, Self.contentKey(calls: calls, text: text))
        records[id] = Record(tenant: tenant, reasoning: bytes, idKeys: idKeys, contentKey: contentKey)
        for k in idKeys { byID[k] = id }
        byContent[contentKey] = id
        if !bytes.isEmpty { byReasoning[bytes, default: [:]][tenant, default: 0] += 1 }
        while records.count > capacity { evictOldest() }
    }

    private mutating func evictOldest() {
        while records[oldestRecord] == nil, oldestRecord < nextRecord { oldestRecord += 1 }
        guard let r = records.removeValue(forKey: oldestRecord) else { return }
        for k in r.idKeys where byID[k] == oldestRecord { byID[k] = nil }
        if byContent[r.contentKey] == oldestRecord { byContent[r.contentKey] = nil }
        if !r.reasoning.isEmpty, var tenants = byReasoning[r.reasoning] {
            tenants[r.tenant, default: 1] -= 1
            if tenants[r.tenant] == 0 { tenants[r.tenant] = nil }
            byReasoning[r.reasoning] = tenants.isEmpty ? nil : tenants
        }
        oldestRecord += 1
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
        let issued = lookUp(tenant: tenant, turn: turn)
        let sent: [UInt8]
        switch turn.reasoning {
        case .absent, .null: return .missing
        case .opaque: return .wrong
        case .text(let s): sent = Array(s.utf8)
        }
        if let issued, issued.reasoning == sent { return .exact }
        if let s = String(validating: sent, as: UTF8.self), SimText.isBlank(s) || placeholderTexts.contains(sent) {
            return .placeholder
        }
        if let tenants = byReasoning[sent], tenants.keys.contains(where: { $0 != tenant }) { return .foreign }
        return .wrong
    }

    private func lookUp(tenant: String, turn: HistoryTurn) -> Record? {
        for call in turn.calls {
            if let id = byID[Self.key(tenant, Self.normalizedID(call.id))], let r = records[id] { return r }
        }
        if let id = byContent[Self.key(tenant, Self.contentKey(calls: turn.calls, text: turn.text))] {
            return records[id]
        }
        return nil
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
