/// Which causal-attention kernel computes softmax(q·kᵀ/√hs)·v.
public enum AttentionKernel: String, Codable, Sendable, CaseIterable {
    /// Materializes the (B,H,T,T) probabilities: O(T²) memory, simple, the reference.
    case naive
    /// Tiles over keys with an online softmax and keeps only a logsumexp per row: O(T) memory.
    case flash
}
