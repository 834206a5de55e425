using SerEngine.Optim;

namespace SerEngine.Models.Training;

/// <summary>
/// Writes a fold's checkpoints off the training thread: <see cref="Save"/> copies the tensors and metadata
/// at once and leaves the file write (temp file, flush to disk, rename) to a background task, so the next
/// epoch's steps do not wait on the disk. Writes run one at a time in the order saved; <see cref="Flush"/>
/// waits for them (before a checkpoint is read back, and before the fold ends) and rethrows a failed write,
/// as does the next <see cref="Save"/> once the failed write has finished.
/// </summary>
internal sealed class CheckpointWriter
{
    private Task _pending = Task.CompletedTask;

    /// <summary>The host arrays snapshots are copied into, reused from epoch to epoch (the fold's weight checks use them too).</summary>
    public SnapshotBuffers Buffers { get; } = new();

    /// <summary>Snapshots the checkpoint now (as <see cref="Checkpoint.Save"/> would write it) and queues its write.</summary>
    public void Save(string path, SerModel model, Optimizer? optimizer = null, TrainingState? training = null, string? heldOutJson = null)
    {
        if (_pending.IsFaulted) Flush(); // an earlier write failed: report it now, an epoch later at most, not after the last epoch
        var write = Checkpoint.Prepare(path, model, optimizer, training, heldOutJson, Buffers);
        var previous = _pending;
        // a failed earlier write stops the chain: Flush reports the first failure
        _pending = previous.ContinueWith(t => { t.GetAwaiter().GetResult(); write(); },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>Waits for every queued write; rethrows the first failure (an IOException as it was thrown).</summary>
    public void Flush() => _pending.GetAwaiter().GetResult();

    /// <summary>Waits for every queued write without rethrowing (the fold is already failing with another exception).</summary>
    public void WaitQuietly()
    {
        try { _pending.Wait(); }
#pragma warning disable CA1031 // the exception already in flight is the one to report
        catch (Exception) { }
#pragma warning restore CA1031
    }
}
