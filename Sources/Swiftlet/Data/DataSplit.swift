/// nanoGPT's train/validation split: the first 90% for training, the rest for validation.
///
/// nanoGPT computes `n = len(data); train = data[:int(n*0.9)]; val = data[int(n*0.9):]`. For a
/// token file `data` is the tokens; for text (its `prepare.py`) it is the characters — Python
/// code points, i.e. Unicode scalars — and each part is tokenized on its own.
public enum DataSplit {
    /// nanoGPT's fraction of the data used for training.
    public static let defaultTrainFraction = 0.9

    /// `int(n * trainFraction)`, computed in double precision exactly as Python does.
    public static func trainCount(of total: Int, trainFraction: Double = defaultTrainFraction) -> Int {
        precondition(trainFraction >= 0 && trainFraction <= 1, "trainFraction must be in [0, 1]")
        return min(total, Int(Double(total) * trainFraction))
    }

    /// Splits tokens into a training part and a validation part (views, nothing is copied).
    public static func split(
        _ data: TokenDataset, trainFraction: Double = defaultTrainFraction
    ) -> (train: TokenDataset, validation: TokenDataset) {
        let boundary = trainCount(of: data.count, trainFraction: trainFraction)
        return (data.slice(0..<boundary, name: "train"), data.slice(boundary..<data.count, name: "val"))
    }

    /// Splits text by Unicode scalars (Python characters), as nanoGPT's `prepare.py` does before
    /// tokenizing each part.
    public static func split(
        text: String, trainFraction: Double = defaultTrainFraction
    ) -> (train: String, validation: String) {
        let scalars = text.unicodeScalars
        let boundary = scalars.index(scalars.startIndex, offsetBy: trainCount(of: scalars.count, trainFraction: trainFraction))
        return (String(scalars[..<boundary]), String(scalars[boundary...]))
    }
}
