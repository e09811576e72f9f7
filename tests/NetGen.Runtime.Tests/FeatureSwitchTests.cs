using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>The NetGen.Backends.Ilgpu.IsSupported switch that a NativeAOT CPU build turns off.</summary>
[Collection(NonParallelCollection.Name)] // it changes a process-wide switch and an environment variable
public class FeatureSwitchTests
{
    [Fact]
    public void Without_ILGPU_the_default_backend_is_the_CPU_and_a_forced_GPU_is_a_clear_error()
    {
        string? saved = Environment.GetEnvironmentVariable(BackendSelector.EnvironmentVariable);
        AppContext.SetSwitch(BackendSelector.IlgpuSwitch, false);
        try
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, null);
            Assert.IsType<CpuBackend>(BackendSelector.Default());
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, "cuda");
            var e = Assert.Throws<InvalidOperationException>(BackendSelector.Default);
            Assert.Contains(BackendSelector.IlgpuSwitch, e.Message);
        }
        finally
        {
            AppContext.SetSwitch(BackendSelector.IlgpuSwitch, true);
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, saved);
        }
        // On again: ILGPU's CPU accelerator can be forced.
        Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, "ilgpu-cpu");
        try
        {
            var backend = BackendSelector.Default();
            Assert.IsType<IlgpuBackend>(backend);
            (backend as IDisposable)?.Dispose();
        }
        finally
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, saved);
        }
    }
}
