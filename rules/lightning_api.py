"""What the rules know about Lightning's API, as data, with where each fact comes from.

Sources: ``Trainer.__init__`` at every tag 0.7.6-1.9 vs 2.x, Lightning's CHANGELOG and upgrade
guides (docs/source-pytorch/upgrade), ``trainer/connectors/logger_connector/fx_validator.py``
and ``core/hooks.py`` (2.x). Versions are the first release *without* the API.
"""

from __future__ import annotations

from typing import NamedTuple


class RemovedTrainerArg(NamedTuple):
    """A ``Trainer(...)`` keyword that no longer exists. (A NamedTuple: much cheaper to define
    than a frozen dataclass, and this module is imported on every lint of a Lightning file.)"""

    removed_in: tuple[int, int]
    replacement: str  #: what to write instead, for the message
    rename: str | None = None  #: a pure rename (safe fix)
    values: tuple[tuple[object, str | None], ...] = ()  #: literal value -> replacement text (None: drop)


#: Appendix A of the catalogue, minus the device flags (PTL201), resume_from_checkpoint (PTL203)
#: and the tuner flags (PTL209), which have their own rules.
REMOVED_TRAINER_ARGS: dict[str, RemovedTrainerArg] = {
    "replace_sampler_ddp": RemovedTrainerArg((2, 0), "`use_distributed_sampler=`", rename="use_distributed_sampler"),
    "track_grad_norm": RemovedTrainerArg((2, 0), "`self.log_dict(grad_norm(self, norm_type=N))` in `on_before_optimizer_step`"),
    "amp_backend": RemovedTrainerArg((2, 0), "nothing (native AMP is the only backend; apex is not supported)", values=(("native", None),)),
    "amp_level": RemovedTrainerArg((2, 0), "nothing (apex is not supported; use `precision=\"16-mixed\"`)"),
    "move_metrics_to_cpu": RemovedTrainerArg((2, 0), "torchmetrics' `compute_on_cpu=True`"),
    "multiple_trainloader_mode": RemovedTrainerArg((2, 0), "`CombinedLoader(loaders, mode=...)` around the train loaders"),
    "weights_save_path": RemovedTrainerArg((1, 8), "`ModelCheckpoint(dirpath=...)`"),
    "progress_bar_refresh_rate": RemovedTrainerArg((1, 7), "`enable_progress_bar=False` (for 0) or `callbacks=[TQDMProgressBar(refresh_rate=N)]`", values=((0, "enable_progress_bar=False"),)),
    "process_position": RemovedTrainerArg((1, 7), "`callbacks=[TQDMProgressBar(process_position=N)]`"),
    "weights_summary": RemovedTrainerArg((1, 7), "`enable_model_summary=False` (for None) or `callbacks=[ModelSummary(max_depth=...)]`", values=((None, "enable_model_summary=False"), ("top", None))),
    "checkpoint_callback": RemovedTrainerArg((1, 7), "`enable_checkpointing=`", values=((True, "enable_checkpointing=True"), (False, "enable_checkpointing=False"))),
    "flush_logs_every_n_steps": RemovedTrainerArg((1, 7), "the logger's own argument, e.g. `CSVLogger(..., flush_logs_every_n_steps=N)`"),
    "log_gpu_memory": RemovedTrainerArg((1, 7), "`callbacks=[DeviceStatsMonitor()]`"),
    "prepare_data_per_node": RemovedTrainerArg((1, 7), "`self.prepare_data_per_node = ...` in the LightningModule/DataModule"),
    "stochastic_weight_avg": RemovedTrainerArg((1, 7), "`callbacks=[StochasticWeightAveraging(swa_lrs=...)]`"),
    "terminate_on_nan": RemovedTrainerArg((1, 7), "`detect_anomaly=True` (not the same semantics)"),
    "reload_dataloaders_every_epoch": RemovedTrainerArg((1, 6), "`reload_dataloaders_every_n_epochs=1`", values=((True, "reload_dataloaders_every_n_epochs=1"), (False, None))),
    "distributed_backend": RemovedTrainerArg((1, 5), "`strategy=`"),
    "truncated_bptt_steps": RemovedTrainerArg((1, 5), "manual truncated backpropagation in `training_step` (removed from Lightning in 2.0)"),
    "automatic_optimization": RemovedTrainerArg((1, 3), "`self.automatic_optimization = False` in the LightningModule"),
    "enable_pl_optimizer": RemovedTrainerArg((1, 3), "nothing (drop it)", values=((True, None), (False, None))),
    "early_stop_callback": RemovedTrainerArg((1, 0), "`callbacks=[EarlyStopping(monitor=...)]`"),
    "row_log_interval": RemovedTrainerArg((1, 0), "`log_every_n_steps=`", rename="log_every_n_steps"),
    "add_row_log_interval": RemovedTrainerArg((1, 0), "`log_every_n_steps=`", rename="log_every_n_steps"),
    "log_save_interval": RemovedTrainerArg((1, 0), "the logger's `flush_logs_every_n_steps`"),
    "overfit_pct": RemovedTrainerArg((1, 0), "`overfit_batches=`", rename="overfit_batches"),
    "train_percent_check": RemovedTrainerArg((1, 0), "`limit_train_batches=`", rename="limit_train_batches"),
    "val_percent_check": RemovedTrainerArg((1, 0), "`limit_val_batches=`", rename="limit_val_batches"),
    "test_percent_check": RemovedTrainerArg((1, 0), "`limit_test_batches=`", rename="limit_test_batches"),
    "cluster_environment": RemovedTrainerArg((1, 0), "`plugins=[<ClusterEnvironment>]`"),
    "show_progress_bar": RemovedTrainerArg((0, 9), "`enable_progress_bar=`", rename="enable_progress_bar"),
    "print_nan_grads": RemovedTrainerArg((0, 9), "`detect_anomaly=True`"),
    "use_amp": RemovedTrainerArg((0, 9), "`precision=\"16-mixed\"`"),
    "num_tpu_cores": RemovedTrainerArg((0, 9), "`accelerator=\"tpu\", devices=N`"),
    "default_save_path": RemovedTrainerArg((0, 8), "`default_root_dir=`", rename="default_root_dir"),
    "gradient_clip": RemovedTrainerArg((0, 8), "`gradient_clip_val=`", rename="gradient_clip_val"),
    "nb_gpu_nodes": RemovedTrainerArg((0, 8), "`num_nodes=`", rename="num_nodes"),
    "max_nb_epochs": RemovedTrainerArg((0, 8), "`max_epochs=`", rename="max_epochs"),
    "min_nb_epochs": RemovedTrainerArg((0, 8), "`min_epochs=`", rename="min_epochs"),
    "nb_sanity_val_steps": RemovedTrainerArg((0, 8), "`num_sanity_val_steps=`", rename="num_sanity_val_steps"),
    "progress_bar_callback": RemovedTrainerArg((0, 8), "`callbacks=[...]`"),
}

#: LightningModule hooks that raise in 2.x (configuration_validator.py)
REMOVED_EPOCH_END_HOOKS = {
    "training_epoch_end": "on_train_epoch_end",
    "validation_epoch_end": "on_validation_epoch_end",
    "test_epoch_end": "on_test_epoch_end",
}

#: hooks Lightning 2.x never calls, without any error: name -> (replacement, removed in)
SILENT_MODULE_HOOKS: dict[str, tuple[str, str]] = {
    "on_epoch_start": ("on_train_epoch_start / on_validation_epoch_start / on_test_epoch_start", "1.8"),
    "on_epoch_end": ("on_train_epoch_end / on_validation_epoch_end / on_test_epoch_end", "1.8"),
    "on_batch_start": ("on_train_batch_start(self, batch, batch_idx)", "1.8"),
    "on_batch_end": ("on_train_batch_end(self, outputs, batch, batch_idx)", "1.8"),
    "on_pretrain_routine_start": ("on_fit_start", "1.8"),
    "on_pretrain_routine_end": ("on_fit_start", "1.8"),
    "training_step_end": ("on_train_batch_end", "2.0"),
    "validation_step_end": ("on_validation_batch_end", "2.0"),
    "test_step_end": ("on_test_batch_end", "2.0"),
    "on_train_dataloader": ("train_dataloader", "1.7"),
    "on_val_dataloader": ("val_dataloader", "1.7"),
    "on_test_dataloader": ("test_dataloader", "1.7"),
    "on_predict_dataloader": ("predict_dataloader", "1.7"),
    "get_progress_bar_dict": ("a custom progress bar's get_metrics", "1.7"),
    "on_hpc_save": ("on_save_checkpoint", "1.8"),
    "on_hpc_load": ("on_load_checkpoint", "1.8"),
    "tbptt_split_batch": ("manual truncated backpropagation", "2.0"),
    "log_grad_norm": ("on_before_optimizer_step with grad_norm", "2.0"),
    "validation_end": ("on_validation_epoch_end", "1.0"),
    "test_end": ("on_test_epoch_end", "1.0"),
}
#: renames that keep the signature ``(self)``: offered as unsafe fixes
SILENT_HOOK_RENAMES = {
    "on_pretrain_routine_start": "on_fit_start",
    "on_pretrain_routine_end": "on_fit_start",
    "on_epoch_start": "on_train_epoch_start",
    "on_epoch_end": "on_train_epoch_end",
}
SILENT_CALLBACK_HOOKS: dict[str, tuple[str, str]] = {
    "on_epoch_start": ("on_train_epoch_start / on_validation_epoch_start", "1.8"),
    "on_epoch_end": ("on_train_epoch_end / on_validation_epoch_end", "1.8"),
    "on_batch_start": ("on_train_batch_start", "1.8"),
    "on_batch_end": ("on_train_batch_end", "1.8"),
    "on_init_start": ("nothing (the Trainer is not built yet)", "1.8"),
    "on_init_end": ("setup", "1.8"),
    "on_keyboard_interrupt": ("on_exception", "1.7"),
    "on_configure_sharded_model": ("setup", "1.8"),
    "on_before_accelerator_backend_setup": ("setup", "1.8"),
    "on_pretrain_routine_start": ("on_fit_start", "1.8"),
    "on_pretrain_routine_end": ("on_fit_start", "1.8"),
}

#: hook -> parameters that 1.x passed and 2.x does not (LightningModule)
LEGACY_HOOK_PARAMS: dict[str, tuple[str, ...]] = {
    "on_train_epoch_end": ("outputs",),
    "on_validation_epoch_end": ("outputs",),
    "on_test_epoch_end": ("outputs",),
    "on_predict_epoch_end": ("results", "outputs"),
    "on_train_batch_start": ("dataloader_idx",),
    "on_train_batch_end": ("dataloader_idx",),
    "optimizer_step": ("optimizer_idx", "on_tpu", "using_native_amp", "using_lbfgs"),
    "optimizer_zero_grad": ("optimizer_idx",),
    "on_before_optimizer_step": ("optimizer_idx",),
    "configure_gradient_clipping": ("optimizer_idx",),
    "lr_scheduler_step": ("optimizer_idx",),
    "backward": ("optimizer_idx",),
}
LEGACY_CALLBACK_PARAMS: dict[str, tuple[str, ...]] = {
    "on_train_epoch_end": ("outputs",),
    "on_validation_epoch_end": ("outputs",),
    "on_test_epoch_end": ("outputs",),
    "on_predict_epoch_end": ("outputs",),
    "on_train_batch_start": ("dataloader_idx",),
    "on_train_batch_end": ("dataloader_idx",),
}

#: hooks where ``self.log`` raises (fx_validator.py: functions mapped to None)
NO_LOG_HOOKS = frozenset(
    {
        "__init__", "lr_scheduler_step", "on_fit_start", "on_fit_end", "on_sanity_check_start",
        "on_sanity_check_end", "on_train_end", "on_validation_end", "on_test_end",
        "on_predict_start", "on_predict_end", "on_predict_epoch_start", "on_predict_epoch_end",
        "on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer",
        "on_predict_batch_start", "on_predict_batch_end", "on_exception", "state_dict",
        "on_save_checkpoint", "on_load_checkpoint", "load_state_dict", "setup", "teardown",
        "configure_sharded_model", "configure_model", "predict_step", "configure_optimizers",
        "train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader",
        "prepare_data", "configure_callbacks", "on_validation_model_zero_grad",
        "on_validation_model_eval", "on_test_model_eval", "on_validation_model_train",
        "on_test_model_train",
    }
)
#: hooks where ``self.log`` may only log per epoch (allowed_on_step=(False,))
EPOCH_ONLY_LOG_HOOKS = frozenset(
    {
        "on_train_start", "on_validation_start", "on_test_start", "on_train_epoch_start",
        "on_train_epoch_end", "on_validation_epoch_start", "on_validation_epoch_end",
        "on_test_epoch_start", "on_test_epoch_end",
    }
)

EVAL_STEPS = ("validation_step", "test_step", "predict_step")
EVAL_LOADER_HOOKS = {"val_dataloader": "validation", "test_dataloader": "test", "predict_dataloader": "predict"}

#: ``pl.<module>`` import paths that moved or went away. name -> (new module, new name) for
#: a pure move, or None (no mechanical replacement). ``"*"`` covers every name of a module
#: removed as a whole.
MovedName = "tuple[str, str] | None"
REMOVED_IMPORTS: dict[str, tuple[tuple[int, int], dict[str, tuple[str, str] | None], bool]] = {
    # module: (removed in, {name: (new module, new name) | None}, whole module removed)
    "core.lightning": ((1, 9), {"LightningModule": ("", "LightningModule")}, True),
    "callbacks.base": ((1, 9), {"Callback": ("", "Callback")}, True),
    "loggers.base": ((1, 9), {
        "LightningLoggerBase": ("loggers", "Logger"),
        "rank_zero_experiment": ("loggers.logger", "rank_zero_experiment"),
        "DummyLogger": ("loggers.logger", "DummyLogger"),
    }, True),
    "utilities.cli": ((1, 9), {"LightningCLI": ("cli", "LightningCLI")}, True),
    "profiler": ((2, 0), {
        "SimpleProfiler": ("profilers", "SimpleProfiler"),
        "AdvancedProfiler": ("profilers", "AdvancedProfiler"),
        "PyTorchProfiler": ("profilers", "PyTorchProfiler"),
        "PassThroughProfiler": ("profilers", "PassThroughProfiler"),
        "Profiler": ("profilers", "Profiler"),
    }, True),
    "metrics": ((1, 5), {}, True),
    "utilities.seed": ((2, 0), {
        "seed_everything": ("", "seed_everything"),
        "reset_seed": None,
        "pl_worker_init_function": None,
    }, False),
    "utilities.distributed": ((1, 8), {
        "rank_zero_only": ("utilities.rank_zero", "rank_zero_only"),
        "rank_zero_warn": ("utilities.rank_zero", "rank_zero_warn"),
        "rank_zero_info": ("utilities.rank_zero", "rank_zero_info"),
        "rank_zero_debug": ("utilities.rank_zero", "rank_zero_debug"),
    }, False),
    "utilities.warnings": ((1, 8), {
        "rank_zero_warn": ("utilities.rank_zero", "rank_zero_warn"),
        "rank_zero_deprecation": ("utilities.rank_zero", "rank_zero_deprecation"),
        "LightningDeprecationWarning": ("utilities.rank_zero", "LightningDeprecationWarning"),
    }, False),
    "utilities.apply_func": ((2, 0), {"move_data_to_device": ("utilities", "move_data_to_device")}, True),
    "trainer.supporters": ((2, 0), {"CombinedLoader": None}, True),
    "accelerators": ((1, 9), {"GPUAccelerator": ("accelerators", "CUDAAccelerator")}, False),
    "plugins": ((1, 8), {
        "DDPPlugin": ("strategies", "DDPStrategy"),
        "DeepSpeedPlugin": ("strategies", "DeepSpeedStrategy"),
        "DDPSpawnPlugin": None,
        "NativeMixedPrecisionPlugin": None,
        "ApexMixedPrecisionPlugin": None,
    }, False),
    "core.memory": ((1, 7), {"ModelSummary": ("utilities.model_summary", "ModelSummary")}, True),
    "core.decorators": ((1, 5), {"auto_move_data": None}, True),
    "utilities.argparse": ((2, 0), {
        "add_argparse_args": None,
        "from_argparse_args": None,
        "parse_argparser": None,
        "parse_env_variables": None,
        "get_init_arguments_and_types": None,
    }, False),
    "lite": ((2, 0), {"LightningLite": None}, True),
    "callbacks": ((1, 7), {"GPUStatsMonitor": None, "XLAStatsMonitor": None, "QuantizationAwareTraining": None}, False),
    "loggers": ((1, 7), {"TestTubeLogger": None, "LightningLoggerBase": ("loggers", "Logger")}, False),
    "strategies": ((2, 0), {
        "DDPSpawnStrategy": None,
        "DDPShardedStrategy": None,
        "DDPSpawnShardedStrategy": None,
        "DDPFullyShardedStrategy": None,
        "DDPFullyShardedNativeStrategy": ("strategies", "FSDPStrategy"),
        "HorovodStrategy": None,
        "DataParallelStrategy": None,
        "ColossalAIStrategy": None,
    }, False),
}

#: strategy names removed or renamed in 2.0 -> replacement (None: no drop-in replacement)
REMOVED_STRATEGIES: dict[str, str | None] = {
    "dp": None,
    "ddp2": None,
    "horovod": None,
    "ddp_sharded": None,
    "ddp_sharded_spawn": None,
    "ddp_fully_sharded": None,
    "bagua": None,
    "colossalai": None,
    "tpu_spawn": "xla",
    "fsdp_native": "fsdp",
    "fsdp_native_full_shard_offload": "fsdp_cpu_offload",
}
#: strategy names once accepted by ``accelerator=`` (removed in 1.7)
STRATEGY_AS_ACCELERATOR = {"ddp", "ddp_spawn", "dp", "ddp2", "horovod", "ddp_cpu", "ddp_sharded"}

#: Trainer attributes removed in 1.x/2.0 -> (replacement text, safe rename or None)
REMOVED_TRAINER_ATTRIBUTES: dict[str, tuple[str, str | None]] = {
    "num_gpus": ("`trainer.num_devices`", "num_devices"),
    "num_processes": ("`trainer.num_devices`", "num_devices"),
    "tpu_cores": ("`trainer.num_devices`", "num_devices"),
    "data_parallel_device_ids": ("`trainer.device_ids`", "device_ids"),
    "root_gpu": ("`trainer.strategy.root_device.index`", "strategy.root_device.index"),
    "running_sanity_check": ("`trainer.sanity_checking`", "sanity_checking"),
    "resume_from_checkpoint": ("`trainer.ckpt_path`", "ckpt_path"),
    "gpus": ("`trainer.device_ids` or `trainer.num_devices`", None),
    "use_amp": ("`trainer.precision`", None),
    "amp_backend": ("nothing (native AMP only)", None),
    "weights_save_path": ("`ModelCheckpoint(dirpath=...)`", None),
    "lr_schedulers": ("`trainer.lr_scheduler_configs` (dataclasses: `.scheduler`, not `['scheduler']`)", None),
    "progress_bar_dict": ("`trainer.progress_bar_metrics`", None),
    "train_loop": ("`trainer.fit_loop`", None),
    "disable_validation": ("`not trainer.enable_validation`", None),
    "tuning": ("the `Tuner` class", None),
    "data_parallel": ("`isinstance(trainer.strategy, ParallelStrategy)`", None),
    "optimizer_frequencies": ("manual optimization", None),
}

#: valid keys of the dict returned by configure_optimizers, and of its scheduler dict
OPTIMIZER_DICT_KEYS = {"optimizer", "lr_scheduler", "monitor"}
SCHEDULER_DICT_KEYS = {"scheduler", "name", "interval", "frequency", "reduce_on_plateau", "monitor", "strict"}
