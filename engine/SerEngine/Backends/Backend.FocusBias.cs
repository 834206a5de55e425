namespace SerEngine.Backends;

// FocusCalibrationNet's Focus-Attention bias (MODELS.md, B), forward and backward, as one primitive:
// composed of broadcasts, squares and a quotient it cost a GPU step 5 launches forward and more
// than twice that backward. Legend: R rows (one per batch·head·query), T keys.
//   forward:  bias[r, j] = −2 (j − P_r)² / W_r²
//   backward: dP_r = Σ_j dBias[r, j] · 4 (j − P_r) / W_r²,   dW_r = Σ_j dBias[r, j] · 4 (j − P_r)² / W_r³
public abstract partial class Backend
{
    /// <summary>
    /// The focus bias of <paramref name="rows"/> queries over <paramref name="t"/> keys: centres P and
    /// widths W [rows], bias [rows, t] = −2 (j − P_r)² / W_r² (in that order of float operations: the
    /// square of the distance, over the square of the width, times −2).
    /// </summary>
    public abstract void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t);

    /// <summary>
    /// The gradients of <see cref="FocusBiasForward"/> from dBias [rows, t]: dCentres and dWidths [rows]
    /// (each optional; a null one is not computed).
    /// </summary>
    public abstract void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t);
}
