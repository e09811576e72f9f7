namespace NetGen.Generator.Model;

/// <summary>
/// The layer kinds the generator knows; names match the attribute classes without "Attribute". Each has its rule in
/// this folder (<see cref="Layers.LayerRegistry"/>), except UseBlock, which the parser expands. In the Model namespace
/// because every step reads it.
/// </summary>
internal enum LayerKind
{
    Dense,
    Activation,
    LeakyReLU,
    Dropout,
    Flatten,
    Reshape,
    Conv2D,
    MaxPooling2D,
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    BatchNormalization,
    ELU,
    ReLU,
    GaussianNoise,
    GaussianDropout,
    SpatialDropout2D,
    ZeroPadding2D,
    UpSampling2D,
    Cropping2D,
    DepthwiseConv2D,
    SeparableConv2D,
    Conv2DTranspose,
    UseBlock, // [UseBlock]: expanded into the block's layers by the parser, never reaches shape inference
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
    Concatenate,
    Input,
    Conv1D,
    MaxPooling1D,
    AveragePooling1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    UpSampling1D,
    ZeroPadding1D,
    Cropping1D,
    SpatialDropout1D,
    LSTM,
    Embedding,
    SimpleRNN,
    GRU,
    RepeatVector,
    ActivityRegularization,
    RecurrentState, // not declared: a recurrent layer with ReturnState adds one per returned state
}
