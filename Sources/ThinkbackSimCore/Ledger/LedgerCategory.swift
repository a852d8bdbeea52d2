/// How faithfully a history assistant message carries back the reasoning the simulator issued.
public enum LedgerCategory: String, CaseIterable, Sendable {
    /// Byte for byte the reasoning this simulator issued to this tenant for this very message,
    /// found at its place in the conversation (KNOBS.md, "Ledger").
    case exact
    /// Empty, whitespace only, or one of `SimConfig.placeholderTexts`.
    case placeholder
    /// Reasoning issued to another tenant: a leak.
    case foreign
    /// Something else, non-empty (including this tenant's reasoning of another message, and a
    /// look-alike's reasoning the ledger cannot tell apart from this message's).
    case wrong
    /// The reasoning member is absent or `null` (Anthropic: no thinking block).
    case missing
    /// No tool calls any more, but the content carries `[tool call] ` lines (thinkback's
    /// `textualize` strategy, product.md §3).
    case textualized
}

/// Per-category totals.
public struct LedgerCounts: Sendable, Equatable {
    /// Count per category; every category is present.
    public private(set) var counts: [LedgerCategory: Int] = Dictionary(
        uniqueKeysWithValues: LedgerCategory.allCases.map { ($0, 0) })

    /// Empty counts.
    public init() {}

    /// The count of `category`.
    public subscript(category: LedgerCategory) -> Int { counts[category] ?? 0 }

    /// The sum over all categories.
    public var total: Int { counts.values.reduce(0, +) }

    mutating func add(_ category: LedgerCategory) { counts[category, default: 0] += 1 }

    var json: SimJSON {
        .object(LedgerCategory.allCases.map { SimJSONMember($0.rawValue, .int(self[$0])) })
    }
}

/// One classified message of the last request of a tenant.
public struct LedgerVerdict: Sendable, Equatable {
    /// Index of the message in the request's `messages`.
    public var index: Int
    /// Its category.
    public var category: LedgerCategory
    /// True for an assistant message with tool calls (or textualized ones), false for a plain
    /// assistant message (counted apart, in `plain`).
    public var toolCalls: Bool
}
