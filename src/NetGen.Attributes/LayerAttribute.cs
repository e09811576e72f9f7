using System;

namespace NetGen
{
    /// <summary>
    /// What every layer attribute has: a name, and where its input comes from. A layer without
    /// <see cref="Input"/> consumes the layer declared before it (or the network's input, for the first), so a
    /// Sequential declaration needs neither.
    /// </summary>
    public abstract class LayerAttribute : Attribute
    {
        /// <summary>
        /// Layer name in the summary, and the name other layers use in <see cref="Input"/> or in a merge layer's inputs;
        /// defaults to Keras's name for the type (<c>dense</c>, <c>dense_1</c>, ...).
        /// </summary>
        public string? Name { get; set; }

        /// <summary>
        /// The name of the layer whose output this layer consumes (Keras's functional <c>layer(x)</c>); <c>"input"</c>
        /// (or Keras's <c>"input_1"</c>) is the network's input. Null: the layer declared before this one.
        /// </summary>
        public string? Input { get; set; }

        /// <summary>
        /// False freezes the layer (Keras's <c>trainable=False</c>): the optimizer leaves its weights as they are, and a
        /// frozen BatchNormalization runs in inference mode (moving statistics, not updated), as in TensorFlow 2.
        /// Can be changed at run time with <c>model.GetLayer(name).Trainable</c>.
        /// </summary>
        public bool Trainable { get; set; } = true;
    }
}
