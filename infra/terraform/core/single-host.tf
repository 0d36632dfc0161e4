# Hobby size: one small ARM spot instance runs the one-machine stack (`make demo`'s
# embedded defaults: Mosquitto, NATS JetStream, Redis, stream processor, serving) from the
# images in ECR. Spot interruptions are survivable: edge agents store and forward, JetStream
# and the DuckDB offline store are on the root volume, which outlives the instance.

data "aws_ssm_parameter" "al2023_arm64" {
  count = var.single_host_enabled ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_security_group" "single_host" {
  count       = var.single_host_enabled ? 1 : 0
  name        = "${local.name}-single-host"
  description = "ReefGuard single host: HTTPS API and TLS MQTT/NATS from the gateways"
  vpc_id      = aws_vpc.main.id

  ingress {
    description = "prediction API and risk map behind TLS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.edge_gateway_cidrs
  }
  ingress {
    description = "MQTT over TLS from buoy gateways"
    from_port   = 8883
    to_port     = 8883
    protocol    = "tcp"
    cidr_blocks = var.edge_gateway_cidrs
  }
  ingress {
    description = "NATS over TLS from buoy gateways"
    from_port   = 4222
    to_port     = 4222
    protocol    = "tcp"
    cidr_blocks = var.edge_gateway_cidrs
  }
  egress {
    description = "HTTPS out: ECR, S3, satellite product servers, Slack"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_role" "single_host" {
  count              = var.single_host_enabled ? 1 : 0
  name               = "${local.name}-single-host"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "single_host" {
  count  = var.single_host_enabled ? 1 : 0
  name   = "data-and-models"
  role   = aws_iam_role.single_host[0].id
  policy = data.aws_iam_policy_document.workloads.json
}

resource "aws_iam_role_policy_attachment" "single_host" {
  for_each = var.single_host_enabled ? toset([
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ]) : toset([])
  role       = aws_iam_role.single_host[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

resource "aws_iam_instance_profile" "single_host" {
  count = var.single_host_enabled ? 1 : 0
  name  = "${local.name}-single-host"
  role  = aws_iam_role.single_host[0].name
}

resource "aws_instance" "single_host" {
  #checkov:skip=CKV_AWS_88:buoy gateways reach MQTT/NATS on this host directly, from var.edge_gateway_cidrs only
  #checkov:skip=CKV_AWS_126:detailed monitoring costs more than the hobby budget; the stack exports its own metrics
  count                       = var.single_host_enabled ? 1 : 0
  ami                         = data.aws_ssm_parameter.al2023_arm64[0].value
  instance_type               = var.single_host_instance_type
  subnet_id                   = aws_subnet.public[0].id
  vpc_security_group_ids      = [aws_security_group.single_host[0].id]
  iam_instance_profile        = aws_iam_instance_profile.single_host[0].name
  associate_public_ip_address = true
  ebs_optimized               = true
  monitoring                  = false

  instance_market_options {
    market_type = "spot"
    spot_options {
      instance_interruption_behavior = "stop"
      spot_instance_type             = "persistent"
    }
  }

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.single_host_volume_gb
    encrypted             = true
    kms_key_id            = aws_kms_key.main.arn
    delete_on_termination = false
  }

  tags = { Name = "${local.name}-single-host" }
}
