# Copyright (c) mmsimfle contributors. Licensed under the Apache License 2.0.
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


@MODELS.register_module()
class DistillationKLLoss(BaseModule):
    """Temperature-scaled KL divergence from a teacher to a student.

    ``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, summed over
    the classes and averaged over the batch (Hinton et al., 2015). The
    teacher is detached, so only the student gets gradients.

    Args:
        temperature (float): Softmax temperature T. Defaults to 4.
        loss_weight (float): Weight of the loss (alpha in SimFLE).
            Defaults to 0.3.
    """

    def __init__(self,
                 temperature: float = 4.0,
                 loss_weight: float = 0.3) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(
                f'temperature must be positive, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Compute the weighted loss of (B, K) student and teacher logits."""
        temperature = self.temperature
        student_log_prob = F.log_softmax(student.float() / temperature, dim=1)
        teacher_prob = F.softmax(teacher.detach().float() / temperature, dim=1)
        divergence = F.kl_div(
            student_log_prob, teacher_prob, reduction='batchmean')
        return self.loss_weight * temperature**2 * divergence
