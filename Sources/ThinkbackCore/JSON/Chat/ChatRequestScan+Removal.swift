extension ChatRequestScan {
    /// The deletions that remove the messages at `indices` from the `messages` array, with
    /// their separating commas, leaving valid JSON. Adjacent messages are removed as one run:
    /// a run after the first message is cut from the end of the message before it (taking
    /// the comma before the run); a run at the start is cut up to the next kept message
    /// (taking the comma after it); removing every message leaves `[]` (whitespace aside).
    /// The edits never overlap each other, nor any edit inside a kept message.
    public func removalEdits(forMessagesAt indices: some Sequence<Int>) -> [JSONEdit] {
        let remove = Set(indices.filter { messages.indices.contains($0) })
        var edits: [JSONEdit] = []
        var i = 0
        while i < messages.count {
            guard remove.contains(i) else { i += 1; continue }
            var last = i
            while last + 1 < messages.count, remove.contains(last + 1) { last += 1 }
            if i > 0 {
                edits.append(.delete(messages[i - 1].range.upperBound ..< messages[last].range.upperBound))
            } else if last + 1 < messages.count {
                edits.append(.delete(messages[0].range.lowerBound ..< messages[last + 1].range.lowerBound))
            } else {
                edits.append(.delete(messages[0].range.lowerBound ..< messages[last].range.upperBound))
            }
            i = last + 1
        }
        return edits
    }
}
