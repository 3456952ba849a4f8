import SwiftletKernels

extension CausalSelfAttention {
    /// Attention for one new token at absolute position `position`: appends its key and value to
    /// the layer's cache (H, maxT, hs) and attends over positions 0…position with
    /// `swl_attention_decode`. Returns the sublayer output (1,C), a buffer in `a`.
    ///
    /// With B = T = 1, `c_attn`'s output row is already head-major: q, k and v are its three
    /// C-wide thirds, head h at columns h·hs…(h+1)·hs−1 (what `swl_split_heads_forward` would copy).
    func decode(
        _ a: BlockActivations, input: UnsafePointer<Float>, position: Int,
        keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, capacity: Int,
        scratch: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        let c = heads * headSize
        let (h, hs) = (Int32(heads), Int32(headSize))
        cAttn.decode(a.qkv, input)
        let q = a.qkv, k = a.qkv + c, v = a.qkv + 2 * c
        if let ropeBase {
            swl_rope_forward(q, q, 1, h, 1, hs, ropeBase, Int32(position))
            swl_rope_forward(k, k, 1, h, 1, hs, ropeBase, Int32(position))
        }
        for head in 0..<heads {
            let row = (head * capacity + position) * headSize
            (keys + row).update(from: k + head * headSize, count: headSize)
            (values + row).update(from: v + head * headSize, count: headSize)
        }
        swl_attention_decode(a.y, scratch, q, keys, values, 1, h, Int32(position + 1), Int32(capacity), hs)
        // (1,H,1,hs) is already the merged (1,C) row.
        cProj.decode(a.attentionProjection, a.y)
        return a.attentionProjection
    }
}
