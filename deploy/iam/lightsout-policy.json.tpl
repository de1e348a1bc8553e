{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ObserveWhatCannotBeScopedByResource",
      "Effect": "Allow",
      "Action": [
        "ecs:ListClusters",
        "ecs:ListServices",
        "ecs:DescribeServices",
        "application-autoscaling:DescribeScalableTargets",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheClusters",
        "elasticache:ListTagsForResource",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
        "redshift:DescribeClusters"
      ],
      "Resource": "*"
    },
    {
      "Sid": "DigestReadsThatCannotBeScopedByResource",
      "Effect": "Allow",
      "Action": [
        "ce:GetCostAndUsage",
        "ce:GetCostForecast",
        "pricing:GetProducts",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetHealth",
        "cloudwatch:DescribeAlarms",
        "autoscaling:DescribeLaunchConfigurations",
        "ec2:DescribeLaunchTemplateVersions",
        "sts:GetCallerIdentity"
      ],
      "Resource": "*"
    },
    {
      "Sid": "IdleRequestCounts",
      "Effect": "Allow",
      "Action": ["cloudwatch:GetMetricData"],
      "Resource": "*"
    },
    {
      "Sid": "AlarmMuting",
      "Effect": "Allow",
      "Action": [
        "cloudwatch:DisableAlarmActions",
        "cloudwatch:EnableAlarmActions"
      ],
      "Resource": "arn:aws:cloudwatch:*:*:alarm:*"
    },
    {
      "Sid": "TransitionEvents",
      "Effect": "Allow",
      "Action": ["events:PutEvents"],
      "Resource": "arn:aws:events:*:*:event-bus/*"
    },
    {
      "Sid": "DigestBudget",
      "Effect": "Allow",
      "Action": ["budgets:ViewBudget"],
      "Resource": ${budget_arns}
    },
    {
      "Sid": "DigestEmailFromOneIdentity",
      "Effect": "Allow",
      "Action": ["ses:SendEmail"],
      "Resource": ${ses_identity_arns}
    },
    {
      "Sid": "DigestTopic",
      "Effect": "Allow",
      "Action": ["sns:Publish"],
      "Resource": ${sns_topic_arns}
    },
    {
      "Sid": "SecretsAtStartUp",
      "Effect": "Allow",
      "Action": ["ssm:GetParameter"],
      "Resource": ${ssm_parameter_arns}
    },
    {
      "Sid": "ChangeStagingServicesOnly",
      "Effect": "Allow",
      "Action": [
        "ecs:UpdateService",
        "ecs:TagResource",
        "ecs:UntagResource"
      ],
      "Resource": ${ecs_service_arns},
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "ChangeStagingScalableTargets",
      "Effect": "Allow",
      "Action": ["application-autoscaling:RegisterScalableTarget"],
      "Resource": "arn:aws:application-autoscaling:${region}:${account_id}:scalable-target/*",
      "Condition": {
        "StringEquals": { "application-autoscaling:service-namespace": "ecs" }
      }
    },
    {
      "Sid": "ChangeStagingDatabasesOnly",
      "Effect": "Allow",
      "Action": [
        "rds:StopDBInstance",
        "rds:StartDBInstance",
        "rds:StopDBCluster",
        "rds:StartDBCluster",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource"
      ],
      "Resource": [
        "arn:aws:rds:${region}:${account_id}:db:*",
        "arn:aws:rds:${region}:${account_id}:cluster:*"
      ],
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "SwitchStagingFrontDoorOnly",
      "Effect": "Allow",
      "Action": ["elasticloadbalancing:ModifyRule"],
      "Resource": ${alb_rule_arns},
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "ChangeStagingAutoScalingGroupsOnly",
      "Effect": "Allow",
      "Action": [
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:CreateOrUpdateTags",
        "autoscaling:DeleteTags"
      ],
      "Resource": "arn:aws:autoscaling:${region}:${account_id}:autoScalingGroup:*:autoScalingGroupName/*",
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "ChangeStagingInstancesOnly",
      "Effect": "Allow",
      "Action": [
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags"
      ],
      "Resource": "arn:aws:ec2:${region}:${account_id}:instance/*",
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "ChangeStagingRedshiftClustersOnly",
      "Effect": "Allow",
      "Action": ["redshift:PauseCluster", "redshift:ResumeCluster"],
      "Resource": "arn:aws:redshift:${region}:${account_id}:cluster:*",
      "Condition": {
        "StringEquals": { "aws:ResourceTag/${environment_tag_key}": "${environment_tag_value}" }
      }
    },
    {
      "Sid": "StateTable",
      "Effect": "Allow",
      "Action": [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query"
      ],
      "Resource": "${table_arn}"
    },
    {
      "Sid": "OtherAccounts",
      "Effect": "Allow",
      "Action": ["sts:AssumeRole"],
      "Resource": ${assume_role_arns}
    },
    {
      "Sid": "NeverProduction",
      "Effect": "Deny",
      "Action": [
        "ecs:UpdateService",
        "ecs:TagResource",
        "ecs:UntagResource",
        "application-autoscaling:RegisterScalableTarget",
        "rds:StopDBInstance",
        "rds:StartDBInstance",
        "rds:StopDBCluster",
        "rds:StartDBCluster",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
        "elasticloadbalancing:ModifyRule",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:CreateOrUpdateTags",
        "autoscaling:DeleteTags",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "redshift:PauseCluster",
        "redshift:ResumeCluster"
      ],
      "Resource": "*",
      "Condition": {
        "StringEqualsIgnoreCase": {
          "aws:ResourceTag/Environment": ["production", "prod"]
        }
      }
    },
    {
      "Sid": "NeverProductionByEnvTag",
      "Effect": "Deny",
      "Action": [
        "ecs:UpdateService",
        "ecs:TagResource",
        "ecs:UntagResource",
        "application-autoscaling:RegisterScalableTarget",
        "rds:StopDBInstance",
        "rds:StartDBInstance",
        "rds:StopDBCluster",
        "rds:StartDBCluster",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
        "elasticloadbalancing:ModifyRule",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:CreateOrUpdateTags",
        "autoscaling:DeleteTags",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "redshift:PauseCluster",
        "redshift:ResumeCluster"
      ],
      "Resource": "*",
      "Condition": {
        "StringEqualsIgnoreCase": {
          "aws:ResourceTag/env": ["production", "prod"]
        }
      }
    }
  ]
}
