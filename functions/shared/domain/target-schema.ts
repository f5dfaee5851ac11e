import * as z from '../zod';
import { targetGroupArn } from './config';

/** a target as deregister-targets returns it and register-targets and check-targets take it */
export const loadBalancerTarget = z.object({
  targetGroupArn,
  id: z
    .string()
    .regex(/^((i|mi)-[0-9a-f]{8,17}|\d{1,3}(\.\d{1,3}){3})$/, 'must be an instance id or an IPv4 address'),
  port: z.number().int().min(1).max(65535).optional(),
});
